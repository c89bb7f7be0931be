/**
 * The GPU forward against the float64 CPU reference (compute/reve/reference.ts) on tiny random
 * configs the golden files do not cover: H·Dh ≠ D, GELU MLPs, other patch sizes and overlaps,
 * freqs with D/2 < freqs⁴, tails, N above one attention tile; every golden output and every hook.
 * Also: automatic batch splits, the GPU-resident variant and early stopping.
 */
import assert from "node:assert/strict";
import { Rng } from "../compute/data/rng.ts";
import { getGpu, readback } from "../compute/gpu/mod.ts";
import { patchCount, REVE_BASE_CONFIG, type ReveConfig } from "../compute/reve/config.ts";
import { allHookNames, goldenOutputNames } from "../compute/reve/hooks.ts";
import type { ReveInput } from "../compute/reve/input.ts";
import { paddedMlpHidden } from "../compute/reve/mlp_padding.ts";
import { ReveModel } from "../compute/reve/model.ts";
import { randomReveWeights } from "../compute/reve/random_model.ts";
import { reveReferenceForward } from "../compute/reve/reference.ts";

function config(over: Partial<ReveConfig>): ReveConfig {
  return { ...REVE_BASE_CONFIG, ...over };
}

function randomInput(seed: number, batch: number, channels: number, samples: number): ReveInput {
  const rng = new Rng(seed);
  return {
    eeg: new Float32Array(batch * channels * samples).map(() => rng.normal()),
    batch,
    channels,
    samples,
    pos: new Float32Array(batch * channels * 3).map(() => rng.uniform(-0.09, 0.09)),
  };
}

function maxError(got: ArrayLike<number>, want: ArrayLike<number>): { max: number; tol: number } {
  assert.equal(got.length, want.length);
  let max = 0;
  let sq = 0;
  for (let i = 0; i < want.length; i++) {
    max = Math.max(max, Math.abs(got[i] - want[i]));
    sq += want[i] * want[i];
  }
  return { max, tol: 1e-4 * Math.max(1, Math.sqrt(sq / want.length)) };
}

const CASES: { name: string; cfg: ReveConfig; B: number; C: number; T: number }[] = [
  {
    name: "H·Dh ≠ D, overlap, tail",
    cfg: config({
      embedDim: 24,
      depth: 2,
      heads: 3,
      headDim: 10,
      freqs: 3,
      patchSize: 50,
      patchOverlap: 10,
    }),
    B: 3,
    C: 5,
    T: 157,
  },
  {
    name: "GELU MLP, no overlap, tail",
    cfg: config({
      embedDim: 16,
      depth: 2,
      heads: 2,
      headDim: 8,
      mlpDimRatio: 1.5,
      useGeglu: false,
      freqs: 2,
      patchSize: 32,
      patchOverlap: 0,
    }),
    B: 2,
    C: 4,
    T: 100,
  },
  {
    name: "D/2 < freqs⁴, large overlap, 3 blocks",
    cfg: config({
      embedDim: 32,
      depth: 3,
      heads: 4,
      headDim: 4,
      freqs: 5,
      patchSize: 20,
      patchOverlap: 15,
    }),
    B: 2,
    C: 3,
    T: 44,
  },
  {
    name: "N = 91 tokens (beyond one workgroup of queries)",
    cfg: config({
      embedDim: 8,
      depth: 1,
      heads: 1,
      headDim: 8,
      freqs: 2,
      patchSize: 10,
      patchOverlap: 0,
    }),
    B: 1,
    C: 7,
    T: 130,
  },
];

for (const [i, c] of CASES.entries()) {
  Deno.test(`config ${c.name}: GPU matches the float64 reference on every output and hook`, async () => {
    const gpu = await getGpu();
    const weights = randomReveWeights(c.cfg, 100 + i);
    const input = randomInput(200 + i, c.B, c.C, c.T);
    const want = reveReferenceForward(c.cfg, weights, input.eeg, input.pos, c.B, c.C, c.T);
    const model = ReveModel.fromWeights(c.cfg, weights, gpu);
    try {
      const names = [...goldenOutputNames(c.cfg.depth), ...allHookNames(c.cfg.depth)];
      const got = await model.forward(input, { outputs: names });
      for (const name of names) {
        const { max, tol } = maxError(got.get(name)!, want.get(name)!);
        assert.ok(max <= tol, `${name}: max error ${max} > ${tol}`);
      }
      assert.equal(
        got.get("final")!.length,
        c.B * c.C * patchCount(c.cfg, c.T) * c.cfg.embedDim,
      );
    } finally {
      model.dispose();
    }
  });
}

Deno.test("batches split by maxBatch or by the binding limit give the same outputs; GPU variant too", async () => {
  const gpu = await getGpu();
  const c = CASES[0];
  const weights = randomReveWeights(c.cfg, 7);
  const input = randomInput(8, 5, c.C, c.T);
  const names = ["hidden.1", "blocks.-1.attn.hook_pattern", "attention_pooled"];
  const whole = ReveModel.fromWeights(c.cfg, new Map(weights), gpu);
  // A device whose binding limit holds two trials' widest buffer (qkv or the GEGLU input, whose
  // hidden width the model pads to a multiple of 4).
  const p = patchCount(c.cfg, c.T);
  const widest = c.C * p *
    Math.max(3 * c.cfg.heads * c.cfg.headDim, 2 * paddedMlpHidden(c.cfg)) * 4;
  const tight = { ...gpu, limits: { ...gpu.limits, maxStorageBufferBindingSize: 2 * widest + 8 } };
  const split = ReveModel.fromWeights(c.cfg, new Map(weights), tight);
  try {
    assert.equal(split.maxTrialsPerPass(c.C, c.T, false), 2);
    const a = await whole.forward(input, { outputs: names });
    const b = await whole.forward(input, { outputs: names, maxBatch: 2 });
    const d = await split.forward(input, { outputs: names });
    assert.equal(split.lastPass.passes, 3);
    const g = await whole.forwardGpu(input, { outputs: names, maxBatch: 3 });
    for (const name of names) {
      assert.deepEqual(b.get(name), a.get(name), name);
      assert.deepEqual(d.get(name), a.get(name), name);
      const t = g.get(name)!;
      assert.deepEqual(await readback(gpu, t), a.get(name), name);
      t.buffer.destroy();
    }
  } finally {
    whole.dispose();
    split.dispose();
  }
});

Deno.test("a hook at layer L stops the forward after block L; negative layers count from the end", async () => {
  const gpu = await getGpu();
  const c = CASES[2];
  const weights = randomReveWeights(c.cfg, 9);
  const input = randomInput(10, 1, c.C, c.T);
  const want = reveReferenceForward(c.cfg, weights, input.eeg, input.pos, 1, c.C, c.T);
  const model = ReveModel.fromWeights(c.cfg, weights, gpu);
  try {
    const out = await model.forward(input, { outputs: ["blocks.-2.hook_resid_post"] });
    assert.equal(model.lastPass.blocksRun, 2);
    const { max, tol } = maxError(out.get("blocks.-2.hook_resid_post")!, want.get("hidden.2")!);
    assert.ok(max <= tol);
    await model.forward(input, { outputs: ["blocks.0.attn.hook_q"] });
    assert.equal(model.lastPass.blocksRun, 1);
    await model.forward(input, { outputs: ["pos_embed"] });
    assert.equal(model.lastPass.blocksRun, 0);
    await model.forward(input, { outputs: ["attention_pooled"] });
    assert.equal(model.lastPass.blocksRun, 3);
  } finally {
    model.dispose();
  }
});
