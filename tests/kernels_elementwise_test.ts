/**
 * add, scale, addScaled, the last-axis reductions (sum, mean, max, argmax) and sumRows against CPU
 * references on odd shapes. Tolerance: max |diff| ≤ 1e-5 · max(1, max |ref|); argmax exact.
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback, ShapeError } from "../compute/gpu/mod.ts";
import { add, addRef, addScaled, addScaledRef, scale, scaleRef } from "../kernels/elementwise.ts";
import { reduce, type ReduceOp, reduceRef, sumRows, sumRowsRef } from "../kernels/reduce.ts";
import { assertClose, randomArray } from "./kernel_helpers.ts";

const SHAPES = [[1], [3], [5, 7], [1361, 3], [88, 1361]];

for (const [index, shape] of SHAPES.entries()) {
  const size = shape.reduce((p, v) => p * v, 1);
  Deno.test(`add, scale and addScaled on [${shape}] match the reference`, async () => {
    const gpu = await getGpu();
    const as = randomArray(size, 1 + index);
    const bs = randomArray(size, 11 + index);
    const a = createTensor(gpu, shape, "f32", "a", as);
    const b = createTensor(gpu, shape, "f32", "b", bs);
    const sum = createTensor(gpu, shape, "f32", "sum");
    const scaled = createTensor(gpu, shape, "f32", "scaled");
    const axpy = createTensor(gpu, shape, "f32", "axpy");
    const batch = new CommandBatch(gpu, "elementwise test");
    add(batch, a, b, sum);
    scale(batch, a, -2.5, scaled);
    addScaled(batch, a, b, 0.3, axpy);
    await batch.submit();
    assertClose(await readback(gpu, sum), addRef(as, bs), 1e-6, "add");
    assertClose(await readback(gpu, scaled), scaleRef(as, -2.5), 1e-6, "scale");
    assertClose(await readback(gpu, axpy), addScaledRef(as, bs, 0.3), 1e-6, "addScaled");
  });
}

const REDUCE_SHAPES = [[1, 1], [3], [5, 3], [2, 3, 88], [4, 1361]];
const OPS: ReduceOp[] = ["sum", "mean", "max", "argmax"];

for (const [index, shape] of REDUCE_SHAPES.entries()) {
  Deno.test(`reduce sum/mean/max/argmax over the last axis of [${shape}]`, async () => {
    const gpu = await getGpu();
    const d = shape[shape.length - 1];
    const size = shape.reduce((p, v) => p * v, 1);
    const xs = randomArray(size, 21 + index, -3, 3);
    const x = createTensor(gpu, shape, "f32", "x", xs);
    const outShape = shape.length === 1 ? [1] : shape.slice(0, -1);
    const batch = new CommandBatch(gpu, "reduce test");
    const outs = OPS.map((op) => {
      const out = createTensor(gpu, outShape, op === "argmax" ? "u32" : "f32", op);
      reduce(batch, x, op, out);
      return out;
    });
    await batch.submit();
    for (const [i, op] of OPS.entries()) {
      const got = await readback(gpu, outs[i]);
      const ref = reduceRef(xs, d, op);
      if (op === "argmax") assert.deepEqual(Array.from(got), Array.from(ref), "argmax");
      else assertClose(got, ref, 1e-5, `${op} [${shape}]`);
    }
  });
}

Deno.test("argmax returns the first index of a repeated maximum", async () => {
  const gpu = await getGpu();
  const x = createTensor(
    gpu,
    [2, 5],
    "f32",
    "x",
    new Float32Array([1, 7, 3, 7, 0, -1, -1, -2, -5, -1]),
  );
  const out = createTensor(gpu, [2], "u32", "argmax");
  const batch = new CommandBatch(gpu, "argmax ties");
  reduce(batch, x, "argmax", out);
  await batch.submit();
  assert.deepEqual(Array.from(await readback(gpu, out)), [1, 0]);
});

for (const [rows, cols] of [[1, 1], [3, 5], [88, 1361], [1361, 3]]) {
  Deno.test(`sumRows [${rows}, ${cols}] → [${cols}] matches the reference`, async () => {
    const gpu = await getGpu();
    const xs = randomArray(rows * cols, rows * 7 + cols);
    const x = createTensor(gpu, [rows, cols], "f32", "x", xs);
    const out = createTensor(gpu, [cols], "f32", "out");
    const batch = new CommandBatch(gpu, "sumRows test");
    sumRows(batch, x, out);
    await batch.submit();
    assertClose(await readback(gpu, out), sumRowsRef(xs, rows, cols), 1e-5, "sumRows");
  });
}

Deno.test("elementwise and reductions reject wrong shapes and dtypes", async () => {
  const gpu = await getGpu();
  const batch = new CommandBatch(gpu, "shape errors");
  const x = createTensor(gpu, [3, 4], "f32", "x");
  const y = createTensor(gpu, [4, 3], "f32", "y");
  assert.throws(() => add(batch, x, y, createTensor(gpu, [3, 4], "f32", "o")), ShapeError);
  assert.throws(() => scale(batch, x, 2, y), ShapeError);
  assert.throws(() => reduce(batch, x, "sum", createTensor(gpu, [4], "f32", "o")), ShapeError);
  assert.throws(() => reduce(batch, x, "argmax", createTensor(gpu, [3], "f32", "o")), ShapeError);
  assert.throws(() => sumRows(batch, x, createTensor(gpu, [3], "f32", "o")), ShapeError);
  assert.equal(batch.dispatchCount, 0);
});
