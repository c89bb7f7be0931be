/**
 * softmax, LayerNorm and RMSNorm over the last axis against float64 references, on odd widths
 * (1, 3, 5, 88, 1361), large offsets and large logits. Tolerance: max |diff| ≤ 1e-5 · max(1, max |ref|).
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback, ShapeError } from "../compute/gpu/mod.ts";
import { layerNorm, layerNormRef } from "../kernels/layernorm.ts";
import { rmsNorm, rmsNormRef } from "../kernels/rmsnorm.ts";
import { softmax, softmaxRef } from "../kernels/softmax.ts";
import { assertClose, randomArray } from "./kernel_helpers.ts";

/** [shape, input range]: offsets test two-pass statistics, wide ranges test the max subtraction. */
const CASES: [number[], number, number][] = [
  [[1, 1], -1, 1],
  [[3], -2, 2],
  [[5, 3], -1, 1],
  [[2, 3, 88], -1, 1],
  [[7, 1361], -3, 3],
  [[4, 512], 99, 101],
  [[6, 5], -100, 100],
];

for (const [index, [shape, lo, hi]] of CASES.entries()) {
  const d = shape[shape.length - 1];
  const size = shape.reduce((p, v) => p * v, 1);
  const label = `[${shape}] in [${lo}, ${hi})`;

  Deno.test(`softmax ${label} matches the reference`, async () => {
    const gpu = await getGpu();
    const xs = randomArray(size, 10 + index, lo, hi);
    const x = createTensor(gpu, shape, "f32", "x", xs);
    const out = createTensor(gpu, shape, "f32", "out");
    const batch = new CommandBatch(gpu, "softmax test");
    softmax(batch, x, out);
    await batch.submit();
    assertClose(await readback(gpu, out), softmaxRef(xs, d), 1e-5, `softmax ${label}`);
  });

  Deno.test(`layerNorm ${label} matches the reference`, async () => {
    const gpu = await getGpu();
    const xs = randomArray(size, 20 + index, lo, hi);
    const ws = randomArray(d, 30 + index, 0.5, 1.5);
    const bs = randomArray(d, 40 + index);
    const x = createTensor(gpu, shape, "f32", "x", xs);
    const out = createTensor(gpu, shape, "f32", "out");
    const batch = new CommandBatch(gpu, "layerNorm test");
    const w = createTensor(gpu, [d], "f32", "w", ws);
    layerNorm(batch, x, w, createTensor(gpu, [d], "f32", "b", bs), out, 1e-5);
    await batch.submit();
    assertClose(await readback(gpu, out), layerNormRef(xs, ws, bs, d, 1e-5), 1e-5, `LN ${label}`);
  });

  Deno.test(`rmsNorm ${label} matches the reference`, async () => {
    const gpu = await getGpu();
    const xs = randomArray(size, 50 + index, lo, hi);
    const ws = randomArray(d, 60 + index, 0.5, 1.5);
    const x = createTensor(gpu, shape, "f32", "x", xs);
    const out = createTensor(gpu, shape, "f32", "out");
    const batch = new CommandBatch(gpu, "rmsNorm test");
    rmsNorm(batch, x, createTensor(gpu, [d], "f32", "w", ws), out, 1e-6);
    await batch.submit();
    assertClose(await readback(gpu, out), rmsNormRef(xs, ws, d, 1e-6), 1e-5, `RMS ${label}`);
  });
}

Deno.test("eps sits inside the root: an all-zero row stays zero, a constant row scales by 1/√(c²+eps)", async () => {
  const gpu = await getGpu();
  const xs = new Float32Array([0, 0, 0, 0, 0.01, 0.01, 0.01, 0.01]);
  const x = createTensor(gpu, [2, 4], "f32", "x", xs);
  const w = createTensor(gpu, [4], "f32", "w", new Float32Array([1, 1, 1, 1]));
  const out = createTensor(gpu, [2, 4], "f32", "out");
  const batch = new CommandBatch(gpu, "rmsNorm eps");
  rmsNorm(batch, x, w, out, 1e-4);
  await batch.submit();
  const got = await readback(gpu, out);
  const expected = 0.01 / Math.sqrt(1e-4 + 1e-4);
  for (let i = 0; i < 4; i++) assert.equal(got[i], 0);
  for (let i = 4; i < 8; i++) assert.ok(Math.abs(got[i] - expected) < 1e-6, `${got[i]}`);
});

Deno.test("norms and softmax reject wrong shapes", async () => {
  const gpu = await getGpu();
  const batch = new CommandBatch(gpu, "norm shape errors");
  const x = createTensor(gpu, [3, 8], "f32", "x");
  const out = createTensor(gpu, [3, 8], "f32", "out");
  const w7 = createTensor(gpu, [7], "f32", "w");
  assert.throws(() => softmax(batch, x, createTensor(gpu, [8, 3], "f32", "o")), ShapeError);
  assert.throws(() => rmsNorm(batch, x, w7, out, 1e-6), ShapeError);
  assert.throws(() => layerNorm(batch, x, w7, w7, out, 1e-5), ShapeError);
  assert.throws(() => softmax(batch, x, x), ShapeError);
});
