/**
 * erf accuracy of the WGSL approximation against a float64 erf (max abs error < 1e-6 over
 * [-10, 10]), exact GELU and GEGLU against float64 references (max |diff| ≤ 2e-6 · max(1, max |ref|)).
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback, ShapeError } from "../compute/gpu/mod.ts";
import {
  erfcRef,
  erfRef,
  erfValues,
  geglu,
  gegluRef,
  gelu,
  geluRefArray,
} from "../kernels/gelu.ts";
import { assertClose, maxAbsDiff, randomArray } from "./kernel_helpers.ts";

/** [-10, 10] in steps of 1e-3, plus tiny magnitudes where relative accuracy matters. */
function erfGrid(): Float32Array<ArrayBuffer> {
  const xs: number[] = [];
  for (let i = -10000; i <= 10000; i++) xs.push(i / 1000);
  for (const t of [1e-8, 1e-6, 1e-4, 0.999999, 1.000001]) xs.push(t, -t);
  return new Float32Array(xs);
}

Deno.test("the float64 reference erf matches tabulated values", () => {
  // Values from CPython math.erf (correctly rounded to double).
  const table: [number, number][] = [
    [0, 0],
    [0.1, 0.1124629160182849],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [2, 0.9953222650189527],
    [3, 0.9999779095030014],
    [4.5, 0.9999999998033839],
  ];
  for (const [x, v] of table) {
    assert.ok(Math.abs(erfRef(x) - v) < 1e-15, `erf(${x}) = ${erfRef(x)}, expected ${v}`);
    assert.ok(Math.abs(erfRef(-x) + v) < 1e-15, `erf(${-x})`);
  }
});

// Tail values from CPython math.erfc (correctly rounded to double).
Deno.test("the float64 reference erfc matches tabulated tail values", () => {
  const table: [number, number][] = [
    [3, 2.2090496998585438e-5],
    [5, 1.5374597944280351e-12],
    [7.0710678118654755, 1.5239706048320995e-23],
  ];
  for (const [x, v] of table) {
    const rel = Math.abs(erfcRef(x) - v) / v;
    assert.ok(rel < 1e-12, `erfc(${x}) = ${erfcRef(x)}, expected ${v}`);
  }
});

Deno.test("WGSL erf is within 1e-6 of float64 erf over [-10, 10]", async () => {
  const gpu = await getGpu();
  const xs = erfGrid();
  const x = createTensor(gpu, [xs.length], "f32", "x", xs);
  const out = createTensor(gpu, [xs.length], "f32", "erf");
  const batch = new CommandBatch(gpu, "erf test");
  erfValues(batch, x, out);
  await batch.submit();
  const got = await readback(gpu, out);
  const ref = Array.from(xs, erfRef);
  const err = maxAbsDiff(got, ref);
  assert.ok(err < 1e-6, `max |erf error| ${err}`);
  // Near zero the error must also be small relative to erf itself.
  for (let i = xs.length - 10; i < xs.length; i++) {
    const rel = Math.abs(got[i] - ref[i]) / Math.abs(ref[i]);
    assert.ok(rel < 1e-6, `relative erf error ${rel} at ${xs[i]}`);
  }
});

Deno.test("gelu matches 0.5·x·(1 + erf(x/√2)) over [-10, 10] and random inputs", async () => {
  const gpu = await getGpu();
  for (const xs of [erfGrid(), randomArray(1361, 7, -6, 6)]) {
    const x = createTensor(gpu, [xs.length], "f32", "x", xs);
    const out = createTensor(gpu, [xs.length], "f32", "gelu");
    const batch = new CommandBatch(gpu, "gelu test");
    gelu(batch, x, out);
    await batch.submit();
    assertClose(await readback(gpu, out), geluRefArray(xs), 2e-6, `gelu of ${xs.length} values`);
  }
});

// Relative error below 1e-4 there (f32 exp of arguments near -50 limits it).
Deno.test("gelu keeps relative accuracy in the negative tail, where 1 + erf would cancel", async () => {
  const gpu = await getGpu();
  const xs = new Float32Array(801).map((_, i) => -10 + i / 100); // [-10, -2]
  const x = createTensor(gpu, [xs.length], "f32", "x", xs);
  const out = createTensor(gpu, [xs.length], "f32", "gelu");
  const batch = new CommandBatch(gpu, "gelu tail");
  gelu(batch, x, out);
  await batch.submit();
  const got = await readback(gpu, out);
  const ref = geluRefArray(xs);
  for (let i = 0; i < xs.length; i++) {
    const rel = Math.abs(got[i] - ref[i]) / Math.abs(ref[i]);
    assert.ok(rel < 1e-4, `gelu(${xs[i]}) = ${got[i]}, reference ${ref[i]} (relative ${rel})`);
  }
});

for (const [rows, h] of [[1, 1], [3, 5], [88, 1361]]) {
  Deno.test(`geglu [${rows}, ${2 * h}] → [${rows}, ${h}] matches the reference`, async () => {
    const gpu = await getGpu();
    const xs = randomArray(rows * 2 * h, rows + h, -4, 4);
    const x = createTensor(gpu, [rows, 2 * h], "f32", "x", xs);
    const out = createTensor(gpu, [rows, h], "f32", "geglu");
    const batch = new CommandBatch(gpu, "geglu test");
    geglu(batch, x, out);
    await batch.submit();
    assertClose(await readback(gpu, out), gegluRef(xs, rows, h), 2e-6, `geglu ${rows}x${h}`);
  });
}

Deno.test("gelu and geglu reject wrong shapes", async () => {
  const gpu = await getGpu();
  const batch = new CommandBatch(gpu, "gelu shape errors");
  const x = createTensor(gpu, [3, 8], "f32", "x");
  assert.throws(() => gelu(batch, x, createTensor(gpu, [3, 7], "f32", "o")), ShapeError);
  assert.throws(() => gelu(batch, x, x), ShapeError);
  assert.throws(() => geglu(batch, x, createTensor(gpu, [3, 8], "f32", "o")), ShapeError);
  assert.throws(() => geglu(batch, x, createTensor(gpu, [2, 4], "f32", "o")), ShapeError);
});
