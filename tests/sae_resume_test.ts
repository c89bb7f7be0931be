/**
 * Checkpoints and resume: a run stopped halfway and resumed ends with the same weights as one run
 * straight through; the files a checkpoint writes; bad input (NaN activations, d_in mismatch on
 * resume, unwritable output folder) fails clearly without losing or poisoning a checkpoint.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Rng } from "../compute/data/rng.ts";
import { defaultSaeConfig, type SaeTrainConfig } from "../compute/sae/config.ts";
import {
  ActivationSourceError,
  openActivationFiles,
  ShardStream,
  ShuffledActivationStore,
} from "../compute/sae/activation_store.ts";
import { f32, writeNpy } from "../compute/io/npy.ts";
import { NonFiniteError, trainSae } from "../compute/sae/trainer.ts";
import { CheckpointError, loadSae, loadTrainState } from "../compute/sae/checkpoint.ts";
import { readSafetensors } from "../compute/io/safetensors.ts";
import { encodeRef, kthLargest } from "../kernels/sae_encode.ts";
import { WriteError } from "../compute/io/atomic.ts";
import { withTempDir } from "./fixtures/temp_dir.ts";

const D = 16;

function data(tokens: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: tokens * D }, () => rng.normal());
}

function config(overrides: Partial<SaeTrainConfig> = {}): SaeTrainConfig {
  return defaultSaeConfig(D, {
    expansionFactor: 2,
    trainBatchSizeTokens: 32,
    totalTrainingTokens: 32 * 8,
    nBatchesInBuffer: 3,
    lr: 1e-2,
    deadFeatureWindow: 2,
    logEvery: 2,
    checkpointEvery: 2,
    lrSchedule: "cosine",
    lrWarmUpSteps: 2,
    l1WarmUpSteps: 3,
    maxGradNorm: 0.5,
    chunkTokens: 12,
    normalizeActivations: "expected_average_only_in",
    ...overrides,
  });
}

function store(x: Float32Array, seed = 5): ShuffledActivationStore {
  return new ShuffledActivationStore(ShardStream.fromArray(x, D), 32 * 3, seed);
}

const withTemp = <T>(f: (dir: string) => Promise<T>) => withTempDir("sae_resume_", f);

for (const architecture of ["relu", "batchtopk", "jumprelu"] as const) {
  Deno.test(`a ${architecture} run stopped at step 3 and resumed ends with the same weights`, () =>
    withTemp(async (dir) => {
      const x = data(500, 1);
      const cfg = config({ architecture, k: 3, kAux: 4, checkpointEvery: 3 });
      const straight = await trainSae(cfg, store(x), { out: join(dir, "a") });
      const part = await trainSae(cfg, store(x), { out: join(dir, "b"), stopAfterStep: 3 });
      assert.equal(part.steps, 3);
      assert.equal((await loadTrainState(join(dir, "b"))).state.step, 3);
      // A fresh store: its position must come back from train_state.
      const resumed = await trainSae(cfg, store(x), { out: join(dir, "b"), resume: true });
      assert.equal(resumed.steps, 5);
      for (const name of ["wEnc", "bEnc", "wDec", "bDec", "logThreshold"] as const) {
        assert.deepEqual(
          resumed.weights[name],
          straight.weights[name],
          `${name} differs after resume`,
        );
      }
      const lines = (await Deno.readTextFile(join(dir, "b", "train_log.jsonl"))).trim().split("\n");
      assert.deepEqual(lines.map((l) => JSON.parse(l).step), [2, 3, 4, 6, 8]);
    }));
}

Deno.test("checkpoint files: SAELens names and shapes, normalisation folded, batchtopk as jumprelu", () =>
  withTemp(async (dir) => {
    const x = data(300, 2);
    const cfg = config({ architecture: "batchtopk", k: 3, kAux: 4 });
    const s = await trainSae(cfg, store(x), { out: dir });
    const weights = await readSafetensors(join(dir, "sae", "sae_weights.safetensors"));
    assert.deepEqual([...weights.tensors.keys()].sort(), [
      "W_dec",
      "W_enc",
      "b_dec",
      "b_enc",
      "threshold",
    ]);
    assert.deepEqual(weights.tensors.get("W_enc")!.shape, [D, 2 * D]);
    assert.deepEqual(weights.tensors.get("W_dec")!.shape, [2 * D, D]);
    const cfgJson = JSON.parse(await Deno.readTextFile(join(dir, "sae", "cfg.json")));
    assert.equal(cfgJson.architecture, "jumprelu");
    assert.equal(cfgJson.d_in, D);
    assert.equal(cfgJson.d_sae, 2 * D);
    assert.equal(cfgJson.apply_b_dec_to_input, true);
    const state = await loadTrainState(dir);
    const a = state.state.normFactor;
    assert.ok(a > 0 && a !== 1);
    const sae = await loadSae(dir);
    assert.equal(sae.architecture, "jumprelu");
    assert.ok(sae.threshold.every((v) => v === sae.threshold[0] && v > 0));
    for (let i = 0; i < sae.wEnc.length; i++) {
      assert.ok(
        Math.abs(sae.wEnc[i] - s.weights.wEnc[i] * a) <= 1e-6 * Math.abs(sae.wEnc[i]) + 1e-7,
      );
    }
    for (let i = 0; i < sae.bDec.length; i++) {
      assert.ok(
        Math.abs(sae.bDec[i] - s.weights.bDec[i] / a) <= 1e-6 * Math.abs(sae.bDec[i]) + 1e-7,
      );
    }
    // Decoder rows are unit norm in the training space.
    for (let f = 0; f < 2 * D; f++) {
      let n = 0;
      for (let d = 0; d < D; d++) n += s.weights.wDec[f * D + d] ** 2;
      assert.ok(Math.abs(Math.sqrt(n) - 1) < 1e-5);
    }
  }));

Deno.test("batchtopk exports the threshold of the last batch under the final weights", () =>
  withTemp(async (dir) => {
    // One batch of tokens: every step sees the same 32, so the last batch is known here.
    const x = data(32, 4);
    const cfg = config({
      architecture: "batchtopk",
      k: 3,
      kAux: 4,
      nBatchesInBuffer: 1,
      normalizeActivations: "none",
    });
    const s = await trainSae(cfg, new ShuffledActivationStore(ShardStream.fromArray(x, D), 32, 5), {
      out: dir,
    });
    const w = s.weights;
    const pre = encodeRef(x, 32, D, 2 * D, w.wEnc, w.bEnc, w.bDec);
    const want = kthLargest(Array.from(pre).filter((v) => v > 0), 3 * 32);
    const sae = await loadSae(dir);
    assert.ok(
      sae.threshold.every((v) => Math.abs(v - want) <= 1e-5 * want),
      `${sae.threshold[0]} vs ${want}`,
    );
    // Inference (pre > threshold) keeps k features per token on average, as training did, less
    // the one entry at the threshold.
    let active = 0;
    for (const v of pre) if (v > sae.threshold[0]) active++;
    assert.equal(active, 3 * 32 - 1);
    // The running average (kept for resume) still carries earlier weights' thresholds.
    const { state } = await loadTrainState(dir);
    assert.notEqual(state.runThreshold, sae.threshold[0]);
  }));

Deno.test("NaN activations name the step and leave the last good checkpoint intact", () =>
  withTemp(async (dir) => {
    const x = data(32 * 12, 3);
    const cfg = config({ nBatchesInBuffer: 1, normalizeActivations: "none" });
    // Rounds of 32 tokens: initialisation draws round 0, step s round s + 1, so token 167 is step 4.
    x[(32 * 5 + 7) * D + 3] = NaN;
    const src = new ShuffledActivationStore(ShardStream.fromArray(x, D), 32, 5);
    await assert.rejects(
      trainSae(cfg, src, { out: dir }),
      (e: Error) => e instanceof NonFiniteError && /step 4/.test(e.message),
    );
    const state = await loadTrainState(dir);
    assert.equal(state.state.step, 4);
    assert.ok(state.weights.wEnc.every(Number.isFinite));
  }));

Deno.test("resume with activations of another d_in is refused", () =>
  withTemp(async (dir) => {
    await trainSae(config({ totalTrainingTokens: 64 }), store(data(200, 4)), { out: dir });
    const other = new ShuffledActivationStore(
      ShardStream.fromArray(new Float32Array(8 * 100), 8),
      32,
      1,
    );
    await assert.rejects(
      trainSae(config(), other, { out: dir, resume: true }),
      (e: Error) =>
        e instanceof CheckpointError && /d_in 16/.test(e.message) && /d_in 8/.test(e.message),
    );
  }));

Deno.test("a fresh run refuses to overwrite an existing run's checkpoint", () =>
  withTemp(async (dir) => {
    await trainSae(config({ totalTrainingTokens: 64 }), store(data(200, 6)), { out: dir });
    const before = await Deno.readFile(join(dir, "sae", "sae_weights.safetensors"));
    await assert.rejects(
      trainSae(config({ seed: 7 }), store(data(200, 6)), { out: dir }),
      (e: Error) => e instanceof CheckpointError && /--resume/.test(e.message),
    );
    assert.deepEqual(await Deno.readFile(join(dir, "sae", "sae_weights.safetensors")), before);
  }));

Deno.test("an unwritable output folder fails before training", () =>
  withTemp(async (dir) => {
    const file = join(dir, "not_a_folder");
    await Deno.writeTextFile(file, "x");
    await assert.rejects(
      trainSae(config(), store(data(200, 5)), { out: join(file, "run") }),
      (e: Error) => e instanceof WriteError && e.message.includes("not_a_folder"),
    );
  }));

Deno.test("a shard deleted while training stops the run with an error naming it", () =>
  withTemp(async (dir) => {
    const shards = join(dir, "activations");
    await Deno.mkdir(shards);
    for (const i of [0, 1, 2]) {
      await writeNpy(join(shards, `shard_${i}.npy`), f32(data(128, 10 + i), [128, D]));
    }
    // Shard 0 feeds the initialisation sample and the first steps; the deleted shard's read
    // starts in the background while the GPU works.
    const source = await openActivationFiles(shards, 32, 2, 3);
    await Deno.remove(join(shards, "shard_1.npy"));
    const out = join(dir, "run");
    await assert.rejects(
      trainSae(config({ totalTrainingTokens: 32 * 6, checkpointEvery: 1 }), source, { out }),
      (e: Error) =>
        e instanceof ActivationSourceError && e.message.includes("shard_1.npy") &&
        /moved or deleted/.test(e.message),
    );
    // The steps before the missing shard left a whole checkpoint.
    assert.ok((await loadTrainState(out)).state.step >= 1);
  }));
