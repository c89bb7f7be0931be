/**
 * The SAE's initialisation (unit decoder rows, W_enc = c²·W_decᵀ, a first reconstruction near
 * b_dec, checked against the CPU encoder reference and the analytic gain) and the warning a run
 * logs while explained variance is still below 0 after a tenth of its steps.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../compute/data/rng.ts";
import {
  defaultSaeConfig,
  FITTED_DECODER_INIT_NORM,
  type SaeTrainConfig,
} from "../compute/sae/config.ts";
import { fitDecoderInitNorm, INIT_OVERSHOOT, initSaeWeights } from "../compute/sae/init.ts";
import { explainedVarianceWarning } from "../compute/sae/metrics.ts";
import { ShardStream, ShuffledActivationStore } from "../compute/sae/activation_store.ts";
import { trainSae } from "../compute/sae/trainer.ts";
import { loadTrainState } from "../compute/sae/checkpoint.ts";
import { parseTrainLog } from "../schema/run_folder.ts";
import { encodeRef, kthLargest } from "../kernels/sae_encode.ts";

const D = 32;
const EXPANSION = 16;
const M = D * EXPANSION;

/** Gaussian tokens around an offset, so b_dec (their median) is far from 0. */
function tokens(n: number, d: number, seed: number): Float32Array<ArrayBuffer> {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n * d }, (_, i) => 3 * Math.sin(i % d) + rng.normal());
}

function config(overrides: Partial<SaeTrainConfig>): SaeTrainConfig {
  return defaultSaeConfig(D, { expansionFactor: EXPANSION, ...overrides });
}

/** RMS ratio ‖x̂ − b_dec‖ / ‖x − b_dec‖ and explained variance of a ReLU SAE's first reconstruction. */
function firstReconstruction(cfg: SaeTrainConfig, x: Float32Array, n: number) {
  const w = initSaeWeights(cfg, x, n);
  const pre = encodeRef(x, n, D, M, w.wEnc, w.bEnc, w.bDec);
  const mean = new Float64Array(D);
  for (let t = 0; t < n; t++) for (let d = 0; d < D; d++) mean[d] += x[t * D + d] / n;
  let out = 0;
  let inp = 0;
  let err = 0;
  let total = 0;
  for (let t = 0; t < n; t++) {
    const xhat = Float64Array.from(w.bDec);
    for (let f = 0; f < M; f++) {
      const z = Math.max(pre[t * M + f], 0);
      for (let d = 0; d < D; d++) xhat[d] += z * w.wDec[f * D + d];
    }
    for (let d = 0; d < D; d++) {
      const v = x[t * D + d];
      out += (xhat[d] - w.bDec[d]) ** 2;
      inp += (v - w.bDec[d]) ** 2;
      err += (v - xhat[d]) ** 2;
      total += (v - mean[d]) ** 2;
    }
  }
  return { gain: Math.sqrt(out / inp), explainedVariance: 1 - err / total };
}

Deno.test("init: unit decoder rows, W_enc = c²·W_decᵀ, and c = 1 is the older init", () => {
  const x = tokens(256, D, 1);
  const small = initSaeWeights(config({ decoderInitNorm: 0.1 }), x, 256);
  const unit = initSaeWeights(config({ decoderInitNorm: 1 }), x, 256);
  assert.deepEqual(small.wDec, unit.wDec, "the decoder does not depend on c");
  assert.deepEqual(small.bDec, unit.bDec);
  for (let f = 0; f < M; f++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += small.wDec[f * D + d] ** 2;
    assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-5, `decoder row ${f} has norm ${Math.sqrt(s)}`);
    for (let d = 0; d < D; d++) {
      const dec = small.wDec[f * D + d];
      assert.equal(unit.wEnc[d * M + f], dec, `c = 1: W_enc[${d},${f}] = W_dec[${f},${d}]`);
      assert.ok(Math.abs(small.wEnc[d * M + f] - 0.01 * dec) <= 1e-7 * Math.abs(dec) + 1e-12);
    }
  }
  assert.ok(small.bEnc.every((v) => v === 0));
});

Deno.test("init: the first reconstruction is b_dec plus c²·d_sae/(2·d_in) of x − b_dec", () => {
  const n = 128;
  const x = tokens(n, D, 2);
  // Mean part c²·M/(2D), plus the spread of M random rows, c²·sqrt(M/(2D)), in quadrature.
  const analytic = (c: number) => c ** 2 * Math.sqrt((M / (2 * D)) ** 2 + M / (2 * D));
  for (const c of [0.1, 0.05]) {
    const r = firstReconstruction(config({ decoderInitNorm: c }), x, n);
    assert.ok(
      Math.abs(r.gain / analytic(c) - 1) < 0.05,
      `c ${c}: gain ${r.gain}, analytic ${analytic(c)}`,
    );
    assert.ok(r.explainedVariance > 0, `c ${c}: explained variance ${r.explainedVariance}`);
  }
  // The older unit-norm init overshoots by about d_sae/(2·d_in): hugely negative explained variance.
  const old = firstReconstruction(config({ decoderInitNorm: 1 }), x, n);
  assert.ok(Math.abs(old.gain / analytic(1) - 1) < 0.05, `c 1: gain ${old.gain}`);
  assert.ok(old.explainedVariance < -30, `c 1: explained variance ${old.explainedVariance}`);
});

Deno.test("the explained-variance warning starts at a tenth of the run, only while EV < 0", () => {
  assert.equal(explainedVarianceWarning(9, 100, -5), undefined, "before a tenth");
  assert.match(explainedVarianceWarning(10, 100, -0.01)!, /still below 0 at step 10 of 100/);
  assert.match(explainedVarianceWarning(1, 5, -2)!, /step 1 of 5/, "a tenth of 5 steps is 1 step");
  assert.equal(explainedVarianceWarning(50, 100, 0), undefined);
  assert.equal(explainedVarianceWarning(50, 100, 0.3), undefined);
  assert.equal(explainedVarianceWarning(50, 100, NaN), undefined);
});

Deno.test("a run that does not learn warns in train_log.jsonl and once on the terminal; cfg.json keeps c", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_init_" });
  try {
    const d = 8;
    const x = tokens(2000, d, 3);
    const run = async (name: string, decoderInitNorm: number) => {
      const warnings: string[] = [];
      const cfg = defaultSaeConfig(d, {
        expansionFactor: 16,
        trainBatchSizeTokens: 64,
        totalTrainingTokens: 64 * 20,
        nBatchesInBuffer: 2,
        // Too small to move anything in 20 steps: the first reconstruction's quality stays.
        lr: 1e-9,
        logEvery: 1,
        checkpointEvery: 1000,
        decoderInitNorm,
      });
      const source = new ShuffledActivationStore(ShardStream.fromArray(x, d), 128, 5);
      await trainSae(cfg, source, {
        out: join(dir, name),
        warn: (line) => warnings.push(line),
      });
      const log = parseTrainLog(await Deno.readTextFile(join(dir, name, "train_log.jsonl")));
      return { warnings, log };
    };
    const bad = await run("unit", 1);
    assert.equal(bad.log.length, 20);
    assert.ok(bad.log[0].explained_variance < 0, `EV ${bad.log[0].explained_variance}`);
    assert.equal(bad.log[0].warning, undefined, "step 1 is before a tenth of 20 steps");
    for (const r of bad.log.slice(1)) assert.match(r.warning ?? "", /still below 0/);
    assert.equal(bad.warnings.length, 1);
    assert.match(bad.warnings[0], /at step 2 of 20/);
    const good = await run("small", 0.1);
    assert.ok(good.log.every((r) => r.explained_variance > 0 && r.warning === undefined));
    assert.deepEqual(good.warnings, []);
    // cfg.json keeps c, and a cfg.json written before decoder_init_norm existed resumes with c = 1.
    const cfgPath = join(dir, "small", "sae", "cfg.json");
    const saved = JSON.parse(await Deno.readTextFile(cfgPath));
    assert.equal(saved.decoder_init_norm, 0.1);
    assert.equal((await loadTrainState(join(dir, "small"))).cfg.decoderInitNorm, 0.1);
    delete saved.decoder_init_norm;
    delete saved.training.decoderInitNorm;
    await Deno.writeTextFile(cfgPath, JSON.stringify(saved));
    assert.equal((await loadTrainState(join(dir, "small"))).cfg.decoderInitNorm, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** r = Σ⟨x − b_dec, x̂ − b_dec⟩ / Σ‖x − b_dec‖² of a TopK SAE's first reconstruction (CPU reference). */
function topkOvershoot(cfg: SaeTrainConfig, x: Float32Array, n: number, d: number): number {
  const m = d * cfg.expansionFactor;
  const w = initSaeWeights(cfg, x, n);
  const pre = encodeRef(x, n, d, m, w.wEnc, w.bEnc, w.bDec);
  let along = 0;
  let norm = 0;
  for (let t = 0; t < n; t++) {
    const row = pre.subarray(t * m, (t + 1) * m);
    const thr = Math.max(kthLargest(row, cfg.k), 0);
    for (let j = 0; j < d; j++) {
      let xhat = 0;
      row.forEach((a, f) => {
        if (a > 0 && a >= thr) xhat += a * w.wDec[f * d + j];
      });
      const xc = x[t * d + j] - w.bDec[j];
      along += xc * xhat;
      norm += xc * xc;
    }
  }
  return along / norm;
}

Deno.test("a fitted start overshoots x − b_dec by INIT_OVERSHOOT along it, or is the unit map", () => {
  const d = 16;
  const n = 256;
  const x = tokens(n, d, 8);
  // Wide and k 32: the unit map overshoots, so c² brings it down to INIT_OVERSHOOT exactly.
  const wide = defaultSaeConfig(d, { architecture: "topk", expansionFactor: 64, k: 32 });
  assert.equal(wide.decoderInitNorm, FITTED_DECODER_INIT_NORM);
  const unitWide = topkOvershoot({ ...wide, decoderInitNorm: 1 }, x, n, d);
  assert.ok(unitWide > 2 * INIT_OVERSHOOT, `unit overshoot ${unitWide}: no test`);
  const c = fitDecoderInitNorm(wide, x, n);
  assert.ok(Math.abs(c - Math.sqrt(INIT_OVERSHOOT / unitWide)) < 1e-6, `c ${c}`);
  const fitted = topkOvershoot({ ...wide, decoderInitNorm: c }, x, n, d);
  assert.ok(Math.abs(fitted - INIT_OVERSHOOT) < 1e-4, `fitted overshoot ${fitted}`);
  // Narrow and k 1: the unit map undershoots and stays.
  const narrow = defaultSaeConfig(d, { architecture: "batchtopk", expansionFactor: 1, k: 1 });
  assert.ok(topkOvershoot({ ...narrow, decoderInitNorm: 1 }, x, n, d) < INIT_OVERSHOOT);
  assert.equal(fitDecoderInitNorm(narrow, x, n), 1);
  assert.throws(
    () => defaultSaeConfig(d, { architecture: "jumprelu", decoderInitNorm: 0 }),
    /does not apply to jumprelu/,
  );
});

Deno.test("training from a fitted start saves the fitted c in cfg.json", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_init_" });
  try {
    const d = 8;
    const x = tokens(1024, d, 9);
    const cfg = defaultSaeConfig(d, {
      architecture: "batchtopk",
      expansionFactor: 32,
      k: 16,
      trainBatchSizeTokens: 64,
      totalTrainingTokens: 64 * 2,
      nBatchesInBuffer: 2,
    });
    const source = new ShuffledActivationStore(ShardStream.fromArray(x, d), 128, 5);
    await trainSae(cfg, source, { out: dir });
    const saved = JSON.parse(await Deno.readTextFile(join(dir, "sae", "cfg.json")));
    // The sample the trainer fits on is the store's first 128 tokens, in its shuffled order.
    const first = await new ShuffledActivationStore(ShardStream.fromArray(x, d), 128, 5).next(128);
    assert.equal(saved.decoder_init_norm, fitDecoderInitNorm(cfg, first, 128));
    assert.ok(saved.decoder_init_norm > 0 && saved.decoder_init_norm < 1);
    assert.equal(saved.training.decoderInitNorm, saved.decoder_init_norm);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
