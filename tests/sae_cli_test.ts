/**
 * `deno task train` as a user runs it: --help lists every flag with its default, a tiny run with
 * kebab-case flags writes the run folder, --resume continues it, and bad flags fail clearly.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { f32, writeNpy } from "../compute/io/npy.ts";
import { Rng } from "../compute/data/rng.ts";
import { runCliFile } from "./fixtures/cli_run.ts";

const train = (args: string[]) => runCliFile("train", args);

Deno.test("train --help lists the earlier pipeline's flags with their defaults", async () => {
  const r = await train(["--help"]);
  assert.equal(r.code, 0, r.stderr);
  for (
    const s of [
      "--l1_coefficient",
      "(default: 0.0001)",
      "--expansion_factor",
      "(default: 16)",
      "--block_layer",
      "(default: -2)",
      "--total_training_tokens",
      "(default: 500000)",
      "--use_ghost_grads",
      "--activations",
      "--resume",
    ]
  ) assert.ok(r.stdout.includes(s), `--help lacks ${s}`);
});

Deno.test("train runs from kebab-case flags, resumes, and rejects bad flags", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_cli_" });
  try {
    const rng = new Rng(4);
    const file = join(dir, "acts.npy");
    await writeNpy(file, f32(Float32Array.from({ length: 400 * 8 }, () => rng.normal()), [400, 8]));
    const out = join(dir, "run");
    const common = [
      "--activations",
      file,
      "--train-batch-size-tokens",
      "32",
      "--expansion-factor",
      "2",
    ];
    const first = await train([
      ...common,
      "--out",
      out,
      "--total-training-tokens",
      "64",
      "--log-every",
      "1",
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout.split("\n")[0], "training plan: 2 steps of 32 tokens = 64 tokens");
    assert.match(first.stdout, /done: 2 steps/);
    for (
      const f of [
        "sae/train_command.json",
        "train_log.jsonl",
        "sae/cfg.json",
        "sae/sae_weights.safetensors",
      ]
    ) {
      await Deno.stat(join(out, f));
    }
    const resumed = await train(["--resume", out, "--activations", file]);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resuming/);
    // A token count that does not divide into steps is rounded up, and said so before training.
    const uneven = await train([
      ...common,
      "--checkpoint_path",
      join(dir, "uneven"),
      "--total_training_tokens",
      "70",
      "--device",
      "cuda",
      "--log_to_wandb",
      "--no_ghost_grads",
    ]);
    assert.equal(uneven.code, 0, uneven.stderr);
    assert.equal(
      uneven.stdout.split("\n")[0],
      "training plan: 3 steps of 32 tokens = 96 tokens (total_training_tokens 70 rounded up to whole steps)",
    );
    assert.match(uneven.stdout, /done: 3 steps, 96 tokens/);
    // The earlier pipeline's flags: one line each on stderr, then the run.
    assert.match(uneven.stderr, /^--checkpoint_path: is --out here/m);
    assert.match(uneven.stderr, /^--device: all work runs on WebGPU/m);
    assert.match(uneven.stderr, /^--log_to_wandb: no Weights & Biases here/m);
    const cfg = JSON.parse(await Deno.readTextFile(join(dir, "uneven", "sae", "cfg.json")));
    assert.equal(cfg.training.useGhostGrads, false);
    const bad = await train([...common, "--out", out, "--architecture", "gated"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--architecture must be one of relu, topk, batchtopk, jumprelu/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
