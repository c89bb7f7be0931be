/**
 * `demo --size reve-base` resolves to the earlier pipeline's job (relu in the settings measured at
 * its widths), and `--architecture`, `--expansion_factor`, `--total_training_tokens` and
 * `--l1_coefficient` replace a preset's values, checked on the plan the demo runs from, without
 * running it (hours on a software adapter).
 */
import assert from "node:assert/strict";
import { demoPlan } from "../compute/pipeline/demo.ts";
import { REVE_BASE_CONFIG } from "../compute/reve/config.ts";
import { runCliFile } from "./fixtures/cli_run.ts";

Deno.test("demo --size reve-base: reve-base widths, all of BCIC2a, d_sae 8192, 500k tokens", () => {
  const plan = demoPlan("reve-base");
  // Every field of reve-base's config, D 512 and 22 blocks among them.
  assert.deepEqual(plan.model, REVE_BASE_CONFIG);
  assert.equal(plan.model.embedDim, 512);
  assert.equal(plan.model.depth, 22);
  // BCIC2a: 9 subjects × 2 sessions × 288 trials.
  assert.equal(plan.trials, 9 * 2 * 288);
  assert.equal(plan.blockLayer, -2);
  assert.equal(plan.hookName, "blocks.20.hook_resid_post");
  assert.equal(plan.model.embedDim * plan.sae.expansionFactor, 8192);
  // relu (the default) in the settings measured at these widths, not the earlier pipeline's l1 1e-4,
  // lr 3e-4 in steps of 4,096, which topk and jumprelu keep.
  assert.deepEqual(plan.sae, {
    architecture: "relu",
    expansionFactor: 16,
    totalTrainingTokens: 500_000,
    trainBatchSizeTokens: 512,
    lr: 2e-3,
    l1Coefficient: 3e-4,
    l1WarmUpSteps: 44,
    deadFeatureWindow: 5,
    finetuningMethod: "decoder",
    finetuningTokens: 50_000,
  });
  assert.deepEqual(demoPlan("reve-base", { architecture: "topk" }).sae, {
    architecture: "topk",
    expansionFactor: 16,
    totalTrainingTokens: 500_000,
    trainBatchSizeTokens: 4096,
    lr: 3e-4,
    l1Coefficient: 1e-4,
  });
});

Deno.test("demo: the SAE overrides replace any preset's values and leave the rest", () => {
  for (const size of ["tiny", "reve-base"] as const) {
    const base = demoPlan(size, { architecture: "topk" });
    const plan = demoPlan(size, {
      architecture: "topk",
      expansionFactor: 4,
      totalTrainingTokens: 8192,
      l1Coefficient: 2e-3,
    });
    assert.deepEqual(plan.sae, {
      ...base.sae,
      architecture: "topk",
      expansionFactor: 4,
      totalTrainingTokens: 8192,
      l1Coefficient: 2e-3,
    });
    assert.deepEqual(plan.model, base.model);
    assert.equal(plan.trials, base.trials);
  }
  // An override left unset (a flag not given) keeps the preset's value.
  const one = demoPlan("reve-base", { expansionFactor: 32, totalTrainingTokens: undefined });
  assert.equal(one.sae.expansionFactor, 32);
  assert.equal(one.sae.totalTrainingTokens, 500_000);
});

Deno.test("demo: the measured batchtopk settings hold for batchtopk only, at full and reve-base", () => {
  const measured = { lr: 2e-3, k: 64, deadFeatureWindow: 25 };
  const full = demoPlan("full", { expansionFactor: 128 });
  assert.equal(full.sae.architecture, "batchtopk");
  assert.deepEqual({
    lr: full.sae.lr,
    k: full.sae.k,
    deadFeatureWindow: full.sae.deadFeatureWindow,
  }, measured);
  assert.deepEqual(demoPlan("full", { architecture: "batchtopk" }).sae, demoPlan("full").sae);
  const relu = demoPlan("full", { architecture: "relu" }).sae;
  assert.equal(relu.k, undefined);
  assert.equal(relu.lr, 2e-3);
  // Asked for batchtopk, reve-base takes the measured ones over its own (topk keeps those).
  const base = demoPlan("reve-base", { architecture: "topk" }).sae;
  const bt = demoPlan("reve-base", { architecture: "batchtopk" }).sae;
  assert.deepEqual(bt, { ...base, architecture: "batchtopk", ...measured });
});

Deno.test("demo: a bad --size or --architecture is one line and exit 1, before any work", async () => {
  const size = await runCliFile("demo", ["--size", "huge"]);
  assert.equal(size.code, 1);
  assert.match(size.stderr.trim(), /^[^\n]*--size must be one of tiny, small, full, reve-base/);
  const arch = await runCliFile("demo", ["--size", "reve-base", "--architecture", "gated"]);
  assert.equal(arch.code, 1);
  assert.match(arch.stderr.trim(), /^[^\n]*--architecture must be one of relu, topk/);
});

Deno.test("demo: relu at full takes the measured l1, steps of 512 and the decoder fine-tuning over a tenth of its tokens", () => {
  const relu = demoPlan("full", { architecture: "relu", expansionFactor: 128 }).sae;
  assert.deepEqual(
    {
      trainBatchSizeTokens: relu.trainBatchSizeTokens,
      lr: relu.lr,
      l1Coefficient: relu.l1Coefficient,
      l1WarmUpSteps: relu.l1WarmUpSteps,
      deadFeatureWindow: relu.deadFeatureWindow,
      finetuningMethod: relu.finetuningMethod,
      finetuningTokens: relu.finetuningTokens,
    },
    {
      trainBatchSizeTokens: 512,
      lr: 2e-3,
      l1Coefficient: 6e-3,
      l1WarmUpSteps: 200,
      deadFeatureWindow: 5,
      finetuningMethod: "decoder",
      finetuningTokens: 200_000,
    },
  );
  // The fine-tuning follows a changed budget; a given --l1_coefficient still wins.
  const short = demoPlan("full", {
    architecture: "relu",
    totalTrainingTokens: 400_000,
    l1Coefficient: 1e-3,
  }).sae;
  assert.equal(short.finetuningTokens, 40_000);
  assert.equal(short.l1Coefficient, 1e-3);
  // Other architectures neither fine-tune nor take relu's steps.
  const topk = demoPlan("full", { architecture: "topk" }).sae;
  assert.equal(topk.finetuningMethod, undefined);
  assert.equal(topk.trainBatchSizeTokens, 4096);
});
