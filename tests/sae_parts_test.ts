/**
 * The SAE's smaller parts against independent references: Adam with global-norm clipping, the
 * decoder-gradient projection and row renormalisation, the inference encoder, Weiszfeld's
 * geometric median, the lr/L1 schedules and the shuffle buffer's exact state restore.
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback } from "../compute/gpu/mod.ts";
import { Rng } from "../compute/data/rng.ts";
import { adamRef, adamStep, clipBufferSize, clipScaleRef } from "../kernels/adam.ts";
import {
  constraintKernel,
  projectDecoderGradRef,
  renormRowsRef,
} from "../kernels/sae_constraint.ts";
import { geometricMedian } from "../compute/sae/init.ts";
import {
  defaultSaeConfig,
  describeSteps,
  finetuningSteps,
  resampleDue,
} from "../compute/sae/config.ts";
import {
  FINETUNING_LR_TIMES_SQRT_D_IN,
  learningRate,
  sparsityCoefficient,
} from "../compute/sae/schedule.ts";
import { ShardStream, ShuffledActivationStore } from "../compute/sae/activation_store.ts";

const rng = new Rng(9);
const randn = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.normal() * s);

function close(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Math.abs(a[i] - b[i]) <= tol * (1 + Math.abs(b[i])),
      `${what}[${i}]: ${a[i]} vs ${b[i]}`,
    );
  }
}

for (const maxNorm of [0, 0.5]) {
  Deno.test(`Adam on the GPU matches the reference over 3 steps (clip ${maxNorm})`, async () => {
    const gpu = await getGpu();
    const sizes = [70000, 33];
    const host = sizes.map((n) => ({
      p: Float64Array.from(randn(n)),
      m: new Float64Array(n),
      v: new Float64Array(n),
    }));
    const slots = sizes.map((n, i) => ({
      param: createTensor(gpu, [n], "f32", "p", Float32Array.from(host[i].p)),
      grad: createTensor(gpu, [n], "f32", "g"),
      m: createTensor(gpu, [n], "f32", "m"),
      v: createTensor(gpu, [n], "f32", "v"),
    }));
    const clip = createTensor(gpu, [clipBufferSize(slots)], "f32", "clip");
    for (let step = 1; step <= 3; step++) {
      const grads = sizes.map((n) => randn(n, 0.01));
      slots.forEach((s, i) => gpu.device.queue.writeBuffer(s.grad.buffer, 0, grads[i]));
      const h = { lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, step };
      const batch = new CommandBatch(gpu);
      adamStep(batch, slots, clip, h, maxNorm);
      await batch.submit();
      const scale = maxNorm > 0 ? clipScaleRef(grads, maxNorm) : 1;
      if (maxNorm > 0) assert.ok(scale < 1, "clipping is exercised");
      host.forEach((x, i) => adamRef(x.p, grads[i], x.m, x.v, h, scale));
    }
    for (let i = 0; i < sizes.length; i++) {
      close(await readback(gpu, slots[i].param), host[i].p, 1e-5, `param ${i}`);
      close(await readback(gpu, slots[i].m), host[i].m, 1e-5, `m ${i}`);
    }
  });
}

Deno.test("decoder-gradient projection and row renormalisation match the reference", async () => {
  const gpu = await getGpu();
  const dIn = 70;
  const dSae = 9;
  const w = randn(dSae * dIn);
  const g = randn(dSae * dIn);
  const t = {
    wDec: createTensor(gpu, [dSae, dIn], "f32", "w", w),
    gWDec: createTensor(gpu, [dSae, dIn], "f32", "g", g),
    fired: createTensor(
      gpu,
      [dSae],
      "u32",
      "fired",
      Uint32Array.from({ length: dSae }, (_, i) => i % 2),
    ),
    sinceFired: createTensor(gpu, [dSae], "u32", "since", new Uint32Array(dSae).fill(7)),
    actCount: createTensor(gpu, [dSae], "f32", "count"),
  };
  const batch = new CommandBatch(gpu);
  constraintKernel(batch, "project_decoder_grad", dIn, dSae, t);
  constraintKernel(batch, "renorm_decoder", dIn, dSae, t);
  constraintKernel(batch, "update_counters", dIn, dSae, t);
  await batch.submit();
  const gRef = Float64Array.from(g);
  projectDecoderGradRef(gRef, w, dIn);
  close(await readback(gpu, t.gWDec), gRef, 1e-5, "projected grad");
  const wRef = Float64Array.from(w);
  renormRowsRef(wRef, dIn);
  close(await readback(gpu, t.wDec), wRef, 1e-5, "renormalised rows");
  // The projected gradient is orthogonal to its (unit) row.
  for (let f = 0; f < dSae; f++) {
    let dot = 0;
    for (let d = 0; d < dIn; d++) dot += gRef[f * dIn + d] * wRef[f * dIn + d];
    assert.ok(Math.abs(dot) < 1e-9);
  }
  assert.deepEqual(
    [...(await readback(gpu, t.sinceFired))],
    Array.from({ length: dSae }, (_, i) => i % 2 ? 0 : 8),
  );
});

Deno.test("geometric median: robust to an outlier and satisfies the first-order condition", () => {
  // Four corners of a square plus one far outlier: the median stays by the square (the mean
  // would be at (200.8, 200.8)); analytically it is at 1 + 1/√3 on the diagonal.
  const pts = [0, 0, 2, 0, 0, 2, 2, 2, 1000, 1000];
  const med = geometricMedian(pts, 5, 2, { maxIterations: 500, tolerance: 1e-12 });
  assert.ok(Math.abs(med[0] - (1 + 1 / Math.sqrt(3))) < 1e-6, `median ${med}`);
  assert.ok(Math.abs(med[1] - med[0]) < 1e-9, `median ${med}`);
  // The first-order condition: Σ (p − μ)/‖p − μ‖ = 0.
  let gx = 0;
  let gy = 0;
  for (let i = 0; i < 5; i++) {
    const dx = pts[2 * i] - med[0];
    const dy = pts[2 * i + 1] - med[1];
    const r = Math.hypot(dx, dy);
    gx += dx / r;
    gy += dy / r;
  }
  assert.ok(Math.hypot(gx, gy) < 1e-6, `gradient ${gx}, ${gy}`);
});

Deno.test("lr schedules and L1 warm-up", () => {
  const cfg = defaultSaeConfig(4, {
    lr: 1,
    lrEnd: 0.1,
    lrWarmUpSteps: 10,
    lrSchedule: "cosine",
    l1Coefficient: 2,
    l1WarmUpSteps: 4,
  });
  assert.equal(learningRate(cfg, 0, 110), 0.1);
  assert.equal(learningRate(cfg, 9, 110), 1);
  assert.ok(Math.abs(learningRate(cfg, 60, 110) - 0.55) < 1e-12);
  assert.ok(Math.abs(learningRate(cfg, 110, 110) - 0.1) < 1e-12);
  assert.equal(learningRate({ ...cfg, lrSchedule: "constant" }, 0, 110), 1);
  assert.equal(learningRate({ ...cfg, lrSchedule: "constant_with_warmup" }, 4, 110), 0.5);
  assert.equal(sparsityCoefficient(cfg, 0, 110), 0.5);
  assert.equal(sparsityCoefficient(cfg, 3, 110), 2);
  assert.equal(sparsityCoefficient(cfg, 100, 110), 2);
});

Deno.test("decoder fine-tuning: the tail of the run, its own cosine, no sparsity, no resampling", () => {
  // 10 steps of 100 tokens; finetuning_tokens 250 rounds up to the last 3.
  const cfg = defaultSaeConfig(16, {
    lr: 1,
    lrEnd: 0.1,
    lrSchedule: "cosine",
    l1Coefficient: 2,
    trainBatchSizeTokens: 100,
    totalTrainingTokens: 1000,
    finetuningMethod: "decoder",
    finetuningTokens: 250,
    resampleDeadEvery: 1,
    resampleDeadUntil: 1,
  });
  assert.equal(finetuningSteps(cfg), 3);
  const plain = { ...cfg, finetuningMethod: "none" as const };
  // The main phase is the run it would be without fine-tuning.
  for (let s = 0; s < 7; s++) {
    assert.equal(learningRate(cfg, s, 10), learningRate(plain, s, 10));
    assert.equal(sparsityCoefficient(cfg, s, 10), 2);
  }
  const peak = FINETUNING_LR_TIMES_SQRT_D_IN / Math.sqrt(16);
  assert.ok(Math.abs(learningRate(cfg, 7, 10) - peak) < 1e-12);
  assert.ok(Math.abs(learningRate(cfg, 8, 10) - peak * 0.75) < 1e-12);
  for (let s = 7; s < 10; s++) assert.equal(sparsityCoefficient(cfg, s, 10), 0);
  assert.ok(resampleDue(cfg, 6, 10));
  assert.ok(!resampleDue(cfg, 7, 10) && !resampleDue(cfg, 8, 10));
  assert.ok(resampleDue(plain, 8, 10));
  assert.throws(
    () => defaultSaeConfig(16, { ...cfg, architecture: "topk" }),
    /finetuning_method decoder corrects relu's L1 shrinkage; topk/,
  );
  assert.throws(
    () => defaultSaeConfig(16, { ...cfg, finetuningTokens: 1000 }),
    /finetuning_tokens 1000 gives 10 fine-tuning steps of the run's 10/,
  );
  assert.match(describeSteps(cfg), /10 steps of 100 tokens = 1000 tokens, the last 3 fine-tuning/);
});

Deno.test("shuffle buffer: every token once per pass, and an exact restore from its state", async () => {
  const d = 3;
  const tokens = 50;
  const data = Float32Array.from({ length: tokens * d }, (_, i) => Math.floor(i / d));
  const a = new ShuffledActivationStore(ShardStream.fromArray(data, d), 25, 1);
  const first = await a.next(50);
  const ids = Array.from({ length: 50 }, (_, i) => first[i * d]).sort((x, y) => x - y);
  assert.deepEqual(ids, Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(Array.from({ length: 50 }, (_, i) => first[i * d]), ids, "order is shuffled");
  await a.next(17);
  const state = JSON.parse(JSON.stringify(a.getState()));
  const want = await a.next(40);
  const b = new ShuffledActivationStore(ShardStream.fromArray(data, d), 25, 1);
  await b.setState(state);
  assert.deepEqual(await b.next(40), want);
});
