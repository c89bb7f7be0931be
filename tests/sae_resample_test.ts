/**
 * Dead-feature resampling against hand-made cases: dead features take the unit residual of a token
 * with error (never one without), encoder columns the alive features' mean norm times the scale,
 * b_enc and Adam moments zeroed, alive features untouched; draws follow ‖x − x̂‖². In training:
 * fewer features end silent than without it, and a resumed run resamples as an uninterrupted one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../compute/data/rng.ts";
import { type AdamMoments, resampleDeadFeatures } from "../compute/sae/resample.ts";
import type { SaeWeights } from "../compute/sae/sae.ts";
import { defaultSaeConfig, type SaeTrainConfig } from "../compute/sae/config.ts";
import { ShardStream, ShuffledActivationStore } from "../compute/sae/activation_store.ts";
import { type TrainLogRecord, trainSae } from "../compute/sae/trainer.ts";
import { encodeRef } from "../kernels/sae_encode.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const D = 4;
const M = 6;

function weights(seed: number): SaeWeights {
  const rng = new Rng(seed);
  const r = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
  return { wEnc: r(D * M), bEnc: r(M), wDec: r(M * D), bDec: r(D), logThreshold: r(M) };
}

function moments(fill: number): AdamMoments {
  return {
    wEnc: new Float32Array(D * M).fill(fill),
    bEnc: new Float32Array(M).fill(fill),
    wDec: new Float32Array(M * D).fill(fill),
  };
}

function column(w: Float32Array, f: number): number[] {
  return Array.from({ length: D }, (_, j) => w[j * M + f]);
}

Deno.test("resampled features take the unit residual of an erring token; alive ones are kept", () => {
  const w = weights(1);
  const before = structuredClone(w);
  const mom = { m: moments(0.5), v: moments(0.25) };
  // Token 0 is reconstructed exactly; token 1 has residual (0, 3, 0, 4).
  const x = Float32Array.from([1, 2, 3, 4, 1, 5, 1, 9]);
  const xhat = Float32Array.from([1, 2, 3, 4, 1, 2, 1, 5]);
  const dead = [1, 4];
  const n = resampleDeadFeatures(w, mom, {
    dIn: D,
    dSae: M,
    dead,
    x,
    xhat,
    encoderScale: 0.2,
    seed: 3,
  });
  assert.equal(n, 2);
  const aliveNorms = [0, 2, 3, 5].map((f) => Math.hypot(...column(before.wEnc, f)));
  const scale = 0.2 * aliveNorms.reduce((a, b) => a + b) / aliveNorms.length;
  for (let f = 0; f < M; f++) {
    const row = Array.from(w.wDec.subarray(f * D, (f + 1) * D));
    if (dead.includes(f)) {
      assert.deepEqual(row.map((v) => +v.toFixed(6)), [0, 0.6, 0, 0.8]);
      column(w.wEnc, f).forEach((v, j) => assert.ok(Math.abs(v - row[j] * scale) < 1e-6));
      assert.equal(w.bEnc[f], 0);
      for (const mm of [mom.m, mom.v]) {
        assert.equal(mm.bEnc[f], 0);
        assert.ok(column(mm.wEnc, f).every((v) => v === 0));
        assert.ok(mm.wDec.subarray(f * D, (f + 1) * D).every((v) => v === 0));
      }
    } else {
      assert.deepEqual(row, Array.from(before.wDec.subarray(f * D, (f + 1) * D)));
      assert.deepEqual(column(w.wEnc, f), column(before.wEnc, f));
      assert.equal(w.bEnc[f], before.bEnc[f]);
      assert.equal(mom.m.bEnc[f], 0.5);
      assert.equal(mom.v.wEnc[f], 0.25);
    }
  }
  assert.deepEqual(w.bDec, before.bDec);
});

Deno.test("tokens are drawn in proportion to their squared error", () => {
  // Residuals along three axes with squared norms 1, 4 and 0 (token 2 exact), one feature dead at
  // a time over many seeds: the axis a decoder row lands on counts the draws.
  const x = Float32Array.from([1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 7, 0]);
  const xhat = Float32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0]);
  const counts = [0, 0, 0, 0];
  const draws = 4000;
  for (let s = 0; s < draws; s++) {
    const w = weights(2);
    resampleDeadFeatures(w, { m: moments(0), v: moments(0) }, {
      dIn: D,
      dSae: M,
      dead: [0],
      x,
      xhat,
      encoderScale: 1,
      seed: s,
    });
    counts[w.wDec.subarray(0, D).findIndex((v) => v === 1)]++;
  }
  assert.equal(counts[2], 0, "a token without error was drawn");
  // Binomial(4000, 0.2): mean 800, sd ≈ 25.
  assert.ok(Math.abs(counts[0] - 800) < 125, `token 0 drawn ${counts[0]} times, expected ≈ 800`);
  assert.equal(counts[0] + counts[1], draws);
});

Deno.test("nothing is resampled without dead features or without any error", () => {
  const w = weights(4);
  const before = structuredClone(w);
  const x = Float32Array.from({ length: 2 * D }, (_, i) => i);
  const inp = { dIn: D, dSae: M, x, encoderScale: 1, seed: 1 };
  const mom = { m: moments(1), v: moments(1) };
  assert.equal(resampleDeadFeatures(w, mom, { ...inp, dead: [], xhat: x.map((v) => v + 1) }), 0);
  assert.equal(resampleDeadFeatures(w, mom, { ...inp, dead: [2], xhat: x.slice() }), 0);
  assert.deepEqual(w, before);
});

// ---- in training (GPU) ----

const TD = 16;
const TM = TD * 8;

/** Sums of 2 of 96 random unit atoms: a dictionary of 128 has a use for most of its features. */
function planted(n: number, seed: number): Float32Array<ArrayBuffer> {
  const rng = new Rng(seed);
  const atoms = Array.from({ length: 96 }, () => {
    const a = Array.from({ length: TD }, () => rng.normal());
    const norm = Math.hypot(...a);
    return a.map((v) => v / norm);
  });
  const x = new Float32Array(n * TD);
  for (let t = 0; t < n; t++) {
    for (let i = 0; i < 2; i++) {
      const atom = atoms[rng.int(atoms.length)];
      const a = 1 + rng.next();
      for (let j = 0; j < TD; j++) x[t * TD + j] += a * atom[j];
    }
  }
  return x;
}

function trainConfig(overrides: Partial<SaeTrainConfig>): SaeTrainConfig {
  return defaultSaeConfig(TD, {
    architecture: "relu",
    expansionFactor: TM / TD,
    // A strong L1 from an undershooting start: many features fall silent and stay so.
    l1Coefficient: 0.2,
    useGhostGrads: false,
    lr: 1e-2,
    trainBatchSizeTokens: 128,
    totalTrainingTokens: 128 * 40,
    nBatchesInBuffer: 4,
    logEvery: 5,
    checkpointEvery: 5,
    ...overrides,
  });
}

/** Features never active (pre-activation > 0) over `x` with the final weights (CPU reference). */
function silentFeatures(w: SaeWeights, x: Float32Array): number {
  const n = x.length / TD;
  const pre = encodeRef(x, n, TD, TM, w.wEnc, w.bEnc, w.bDec);
  const fired = new Uint8Array(TM);
  pre.forEach((v, i) => {
    if (v > 0) fired[i % TM] = 1;
  });
  return fired.filter((v) => v === 0).length;
}

const withTemp = <T>(f: (dir: string) => Promise<T>) => withTempDir("sae_resample_", f);

const store = (x: Float32Array) =>
  new ShuffledActivationStore(ShardStream.fromArray(x, TD), 128 * 4, 9);

Deno.test("resampling leaves fewer silent features than training without it", () =>
  withTemp(async (dir) => {
    const x = planted(2048, 1);
    const plain = await trainSae(trainConfig({}), store(x), { out: join(dir, "plain") });
    const logs: TrainLogRecord[] = [];
    const resampled = await trainSae(
      trainConfig({ resampleDeadEvery: 5, resampleDeadUntil: 0.75 }),
      store(x),
      { out: join(dir, "resampled"), onLog: (r) => logs.push(r) },
    );
    const count = logs.reduce((a, r) => a + (r.resampled ?? 0), 0);
    assert.ok(count > 0, "no feature was resampled");
    // Resampling happens at steps 5, 10, …, 30 only.
    assert.ok(logs.filter((r) => r.step > 30).every((r) => r.resampled === 0));
    const before = silentFeatures(plain.weights, x);
    const after = silentFeatures(resampled.weights, x);
    assert.ok(before > TM / 4, `only ${before} of ${TM} silent without resampling: no test`);
    assert.ok(after < 0.7 * before, `${after} silent with resampling, ${before} without`);
  }));

Deno.test("a resampling run stopped at step 7 and resumed ends with the same weights", () =>
  withTemp(async (dir) => {
    const x = planted(2048, 2);
    const cfg = trainConfig({
      totalTrainingTokens: 128 * 12,
      resampleDeadEvery: 4,
      resampleDeadUntil: 1,
      checkpointEvery: 7,
    });
    const straight = await trainSae(cfg, store(x), { out: join(dir, "a") });
    await trainSae(cfg, store(x), { out: join(dir, "b"), stopAfterStep: 7 });
    const resumed = await trainSae(cfg, store(x), { out: join(dir, "b"), resume: true });
    for (const name of ["wEnc", "bEnc", "wDec", "bDec"] as const) {
      assert.deepEqual(resumed.weights[name], straight.weights[name], `${name} differs`);
    }
  }));
