/**
 * `deno task extract`: REVE activations.
 *
 * - `--model DIR --input FILE.npz --out FILE.npz [--hooks all|NAME,...]`: every golden output plus
 *   the requested hooks, float32.
 * - `--model DIR --db_path LMDB | --recordings PATH | --source PATH --out DIR [--block_layer -2]
 *   [--hook resid_post]`: activation shards of a dataset for the SAE trainer.
 */
import { list, num, optNum, optStr, str } from "./flags.ts";
import { flagList, FLAGS, REVE_FLAGS, SOURCE_FLAGS, sourceSpecFrom } from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import type { ScalingMode } from "../data/trials.ts";
import { extractNpz } from "../reve/extract.ts";
import { extractDataset } from "../reve/extract_dataset.ts";

await runCli({
  usage: "deno task extract --model DIR --input FILE.npz --out FILE.npz [--hooks all|NAME,...]\n" +
    "deno task extract --model DIR --db_path LMDB | --recordings PATH | --source PATH --out DIR\n" +
    "                  [--block_layer -2 --hook resid_post --scaling zscore_clip15]\n\n" +
    "NPZ mode: runs REVE (DIR/config.json + DIR/model.safetensors) on eeg [B,C,T] (200 Hz) with\n" +
    "pos [B,C,3] or channels (electrode names) and writes patch_embed, fourier, mlp4d, pos_embed,\n" +
    "hidden.{i}, blocks.{l}.attn_out, blocks.{l}.mlp_out, final, attention_pooled and the hooks\n" +
    "asked for (blocks.{l}.hook_resid_post, blocks.{l}.attn.hook_pattern, ..., or the earlier\n" +
    "pipeline's transformer.layers.{l}.ff.hook_mlp_in, ...; negative l counts from the end).\n" +
    "Dataset mode: resamples to 200 Hz, scales, runs the model and writes the hook's activations\n" +
    "as shards [tokens, d] float32 (.npy) with index.json (per-token trial, channel, patch, label).",
  flags: flagList(
    REVE_FLAGS,
    FLAGS.out,
    { name: "input", type: "string", help: "NPZ mode: eeg [B,C,T] and pos [B,C,3] or channels" },
    {
      name: "hooks",
      type: "list",
      help: "NPZ mode: hook names, ours or the earlier pipeline's (comma-separated), or all; " +
        "written under the names given",
      default: [],
    },
    { name: "max_batch", type: "int", help: "NPZ mode: at most this many trials per GPU pass" },
    SOURCE_FLAGS,
    { name: "source", type: "string", help: "dataset mode: LMDB directory or recording file" },
    { name: "shard_trials", type: "int", help: "dataset mode: trials per shard", default: 256 },
  ),
  async main({ values }) {
    const out = str(values, "out");
    const model = str(values, "model");
    if (optStr(values, "input")) {
      const names = await extractNpz({
        model,
        input: str(values, "input"),
        out,
        hooks: list(values, "hooks"),
        maxBatch: optNum(values, "max_batch"),
      });
      console.log(`wrote ${out}: ${names.length} tensors`);
      return;
    }
    const index = await extractDataset({
      model,
      source: sourceSpecFrom(values, "source"),
      out,
      blockLayer: num(values, "block_layer"),
      hook: str(values, "hook"),
      scaling: str(values, "scaling") as ScalingMode,
      batchSize: num(values, "batch_size"),
      trialsPerShard: num(values, "shard_trials"),
      log: (line) => console.error(line),
    });
    console.log(
      `wrote ${out}: ${index.tokens} tokens × ${index.d} of ${index.hook} in ${index.shards.length} shards`,
    );
  },
});
