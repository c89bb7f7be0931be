/**
 * The NPY reader against files numpy wrote (every dtype, big-endian, Fortran order, unicode, 0-d,
 * versions 2.0/3.0), the writer against numpy's exact bytes, and writer→reader round trips.
 */
import assert from "node:assert/strict";
import {
  asFloat32,
  decodeNpy,
  encodeNpy,
  f16,
  f32,
  i32,
  i64,
  type NdArray,
  NpyError,
  readNpy,
  str,
  writeNpy,
} from "../compute/io/npy.ts";
import { rejectsWith, throwsWith } from "./fixtures/data_helpers.ts";
import { assertValues, expected, ioFixture } from "./fixtures/io_helpers.ts";
import { runTool } from "./fixtures/recording_tools.ts";

for (const [name, want] of Object.entries(expected.npy)) {
  Deno.test(`readNpy ${name}.npy matches numpy's values, shape and dtype`, async () => {
    const a = await readNpy(ioFixture(`${name}.npy`));
    assert.equal(a.dtype, want.dtype);
    assert.deepEqual(a.shape, want.shape);
    assertValues(a.data, want.values, name);
  });
}

Deno.test("f2 decodes to Float32Array, i8 to BigInt64Array, U to string[]", async () => {
  assert.ok((await readNpy(ioFixture("f2.npy"))).data instanceof Float32Array);
  assert.ok((await readNpy(ioFixture("i8_be.npy"))).data instanceof BigInt64Array);
  assert.ok(Array.isArray((await readNpy(ioFixture("unicode.npy"))).data));
});

// Little-endian C-order files: our encoder must reproduce numpy's bytes exactly (header padding
// included). Unicode is excluded because numpy keeps the declared width, we use the longest string.
const byteExact = Object.keys(expected.npy).filter((n) =>
  !/_be$|^fortran_|^unicode|^v[23]_/.test(n)
);

Deno.test("encodeNpy reproduces numpy's own file bytes", async () => {
  assert.ok(byteExact.length >= 14, "most fixtures are compared");
  for (const name of byteExact) {
    const bytes = await Deno.readFile(ioFixture(`${name}.npy`));
    assert.deepEqual(encodeNpy(decodeNpy(bytes, name)), bytes, name);
  }
});

Deno.test("round trip keeps dtype, shape and values of every kind", () => {
  const arrays: NdArray[] = [
    f32(new Float32Array([1.5, -0, 3e-8, -7]), [2, 2]),
    i32([1, -2, 2147483647], [3]),
    i64([1, -2], [2, 1]),
    i64(new BigInt64Array([-9223372036854775808n]), []),
    str(["Fz", "", "😀ñ", "C3"], [2, 2]),
    str(["only"], []),
    { dtype: "f2", shape: [3], data: new Float32Array([0.5, 65504, -6.103515625e-5]) },
    { dtype: "f8", shape: [2], data: new Float64Array([1 / 3, -1e300]) },
    { dtype: "i1", shape: [2], data: new Int8Array([-128, 127]) },
    { dtype: "i2", shape: [2], data: new Int16Array([-32768, 5]) },
    { dtype: "u1", shape: [1], data: new Uint8Array([255]) },
    { dtype: "u2", shape: [1], data: new Uint16Array([65535]) },
    { dtype: "u4", shape: [1], data: new Uint32Array([4294967295]) },
    { dtype: "b1", shape: [3], data: new Uint8Array([1, 0, 1]) },
    f32(new Float32Array(0), [0, 4]),
  ];
  for (const a of arrays) {
    const back = decodeNpy(encodeNpy(a));
    assert.deepEqual(back, a, `${a.dtype} [${a.shape}]`);
  }
});

Deno.test("encoded data starts on a 64-byte boundary; a huge header switches to version 2.0", () => {
  const small = encodeNpy(f32(new Float32Array([1, 2, 3])));
  assert.equal(small[6], 1);
  assert.equal((10 + new DataView(small.buffer).getUint16(8, true)) % 64, 0);
  const shape = new Array<number>(25000).fill(1); // header text > 65535 bytes
  const big = encodeNpy(f32(new Float32Array([4]), shape));
  assert.equal(big[6], 2);
  assert.equal((12 + new DataView(big.buffer).getUint32(8, true)) % 64, 0);
  const back = decodeNpy(big);
  assert.equal(back.shape.length, 25000);
  assert.deepEqual(back.data, new Float32Array([4]));
});

Deno.test("writeNpy then readNpy returns the same array", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-io-" });
  try {
    const a = str(["Fp1", "Oz"]);
    await writeNpy(`${dir}/ch.npy`, a);
    assert.deepEqual(await readNpy(`${dir}/ch.npy`), a);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("object arrays, truncated data and bad magic fail with the name and the reason", async () => {
  const obj = ioFixture("object.npy");
  const e = await rejectsWith(() => readNpy(obj), NpyError, "unsupported dtype '|O'");
  assert.ok(e.message.startsWith(obj), e.message);
  await rejectsWith(
    () => readNpy(ioFixture("truncated.npy")),
    NpyError,
    /truncated data.*needs 24 bytes, only 21/,
  );
  throwsWith(
    () => decodeNpy(new TextEncoder().encode("PK\x03\x04 not npy"), "x.npy"),
    NpyError,
    "x.npy: not an NPY file (bad magic",
  );
  const header = encodeNpy(f32(new Float32Array([1]))).slice(0, 30);
  throwsWith(() => decodeNpy(header, "cut"), NpyError, "cut: truncated NPY header");
  const v9 = encodeNpy(f32(new Float32Array([1])));
  v9[6] = 9;
  throwsWith(() => decodeNpy(v9, "v9"), NpyError, "unsupported NPY version 9.0");
  const dict = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }\n";
  const latin1 = `\x93NUMPY\x01\x00${String.fromCharCode(dict.length)}\x00${dict}\0\0\0\0`;
  const structured = Uint8Array.from(latin1, (c) => c.charCodeAt(0));
  throwsWith(() => decodeNpy(structured, "rec"), NpyError, "structured arrays are not supported");
});

Deno.test("builders and the encoder check shapes and data types", () => {
  throwsWith(
    () => f32(new Float32Array(5), [2, 3]),
    NpyError,
    "shape [2,3] needs 6 elements but data has 5",
  );
  throwsWith(() => i32([1, 2], [-2]), NpyError, "not a non-negative integer");
  throwsWith(
    () => encodeNpy({ dtype: "f4", shape: [1], data: new Int32Array(1) }, "w"),
    NpyError,
    "w: dtype f4 needs Float32Array data, got Int32Array",
  );
  throwsWith(
    () => encodeNpy({ dtype: "U", shape: [1], data: new Uint8Array(1) }),
    NpyError,
    "string[]",
  );
});

Deno.test("asFloat32 converts numeric arrays and refuses strings", () => {
  const a = f32(new Float32Array([1, 2]));
  assert.equal(asFloat32(a, "a"), a.data, "f4 is returned without a copy");
  assert.deepEqual(asFloat32(i64([3, -4]), "labels"), new Float32Array([3, -4]));
  assert.deepEqual(
    asFloat32({ dtype: "f8", shape: [1], data: new Float64Array([0.1]) }, "x"),
    new Float32Array([0.1]),
  );
  throwsWith(
    () => asFloat32(str(["a"]), "channels"),
    NpyError,
    "channels: expected a numeric array",
  );
});

// Round to nearest even at every boundary float16 has: ties between neighbours (normal and
// subnormal), the overflow edge (65519.996 rounds down, 65520 to infinity), the smallest
// subnormal, and values that are not ties.
const F16_CASES = Float32Array.from([
  0,
  -0,
  1,
  1 + 2 ** -11,
  1 + 3 * 2 ** -11,
  1 + 2 ** -11 + 2 ** -20,
  2048 + 1,
  2048 + 3,
  65504,
  65519,
  65519.99609375,
  65520,
  -65520,
  1e6,
  2 ** -24,
  2 ** -25,
  3 * 2 ** -25,
  2 ** -25 + 2 ** -35,
  5 * 2 ** -26,
  6.097555160522461e-5,
  2 ** -14 - 2 ** -25,
  0.1,
  1 / 3,
  -2.5e-5,
  1e-8,
  Infinity,
  -Infinity,
  NaN,
]);

Deno.test("f16 encodes as numpy's float16 of the same float32 values, bit for bit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-f16-" });
  try {
    const hex = Array.from(new Uint8Array(F16_CASES.buffer), (b) => b.toString(16).padStart(2, "0"))
      .join("");
    await runTool("/usr/bin/python3", [
      "-c",
      "import sys, numpy as np\n" +
      "a = np.frombuffer(bytes.fromhex(sys.argv[1]), dtype='<f4').astype(np.float16)\n" +
      "np.save(sys.argv[2], a)\nnp.save(sys.argv[3], a.astype(np.float32))",
      hex,
      `${dir}/f16.npy`,
      `${dir}/widened.npy`,
    ]);
    const numpyF16 = await Deno.readFile(`${dir}/f16.npy`);
    assert.deepEqual(encodeNpy(f16(F16_CASES)), numpyF16);
    const widened = (await readNpy(`${dir}/widened.npy`)).data as Float32Array;
    const decoded = decodeNpy(numpyF16).data as Float32Array;
    assert.deepEqual(new Uint8Array(decoded.buffer), new Uint8Array(widened.buffer));
    assert.ok(decoded[10] === 65504 && decoded[11] === Infinity, "the overflow edge");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
