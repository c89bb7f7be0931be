/**
 * MAT-file (level 5) reader against files assembled byte by byte from MathWorks' format description
 * (tests/fixtures/make_mat_fixtures.py): every numeric class and storage type, column-major values,
 * compressed and plain variables, small data elements, both byte orders; refusals that name the file.
 */
import assert from "node:assert/strict";
import { MatError, parseMat, readMat } from "../compute/io/mat.ts";
import { ioFixture } from "./fixtures/io_helpers.ts";
import { throwsWith } from "./fixtures/data_helpers.ts";

Deno.test("mat: numeric variables of every storage kind read as float64, column-major", async () => {
  const mat = await readMat(ioFixture("mat/mixed.mat"));
  const get = (name: string) => {
    const a = mat.arrays.get(name);
    assert.ok(a, `variable ${name} missing; have ${[...mat.arrays.keys()]}`);
    return { className: a.className, dims: a.dims, data: [...a.data] };
  };
  // [[1.5, 3, 5], [-2.25, 4, 6]] is stored column by column.
  assert.deepEqual(get("x"), {
    className: "double",
    dims: [2, 3],
    data: [1.5, -2.25, 3, 4, 5, 6],
  });
  assert.deepEqual(get("k"), { className: "int16", dims: [1, 3], data: [-7, 0, 300] });
  // A double variable whose values MATLAB stored as miUINT8.
  assert.deepEqual(get("small"), { className: "double", dims: [1, 4], data: [0, 1, 2, 255] });
  assert.deepEqual(get("mask"), { className: "logical", dims: [1, 2], data: [1, 0] });
  assert.deepEqual(get("big"), { className: "int64", dims: [1, 1], data: [-(2 ** 40)] });
  assert.deepEqual([...mat.skipped], [["note", "char"]]);
});

Deno.test("mat: a big-endian file (MI indicator) reads the same values", async () => {
  const mat = await readMat(ioFixture("mat/big_endian.mat"));
  assert.deepEqual([...mat.arrays.get("y")!.data], [0.5, -1]);
  assert.equal(mat.arrays.get("y")!.className, "single");
  assert.deepEqual([...mat.arrays.get("z")!.data], [1, 4000000000]);
  assert.deepEqual(mat.arrays.get("z")!.dims, [2, 1]);
});

Deno.test("mat: v7.3, a bad header, truncation and a corrupt stream are errors naming the file", async () => {
  const bytes = await Deno.readFile(ioFixture("mat/mixed.mat"));
  throwsWith(() => parseMat(bytes.subarray(0, 64), "short.mat"), MatError, "short.mat: shorter");
  const v73 = bytes.slice();
  v73.set(new TextEncoder().encode("MATLAB 7.3 MAT-file"));
  throwsWith(() => parseMat(v73, "v73.mat"), MatError, "v73.mat: is a v7.3 (HDF5) MAT-file");
  const badEndian = bytes.slice();
  badEndian.set([0x41, 0x42], 126);
  throwsWith(() => parseMat(badEndian, "e.mat"), MatError, 'indicator is "AB"');
  throwsWith(() => parseMat(bytes.subarray(0, 200), "cut.mat"), MatError, "cut.mat: data element");
  const compressed = await Deno.readFile(ioFixture("mat/big_endian.mat"));
  const corrupt = compressed.slice();
  corrupt.fill(0xff, corrupt.length - 12);
  throwsWith(() => parseMat(corrupt, "z.mat"), MatError, "z.mat: cannot inflate");
});
