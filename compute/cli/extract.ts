/**
 * `deno task extract`: REVE activations.
 *
 * - `--model DIR --input FILE.npz --out FILE.npz [--hooks all|NAME,...]`: every golden output plus
 *   the requested hooks, float32.
 * - `--model DIR --db_path LMDB | --recordings PATH | --source PATH --out DIR [--block_layer -2]
 *   [--hook hook_resid_post]`: activation shards of a dataset for the SAE trainer.
 */
import { bool, FlagError, type FlagValues, list, num, optNum, optStr, str } from "./flags.ts";
import { RECORDING_FLAGS, recordingOptions, recordingPaths } from "./recording_flags.ts";
import { runCli } from "./run_cli.ts";
import type { SourceSpec } from "../data/open_source.ts";
import { SCALING_MODES } from "../data/preprocess.ts";
import type { ScalingMode } from "../data/trials.ts";
import { extractNpz } from "../reve/extract.ts";
import { extractDataset } from "../reve/extract_dataset.ts";

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function sourceSpec(v: FlagValues): SourceSpec {
  const source = optStr(v, "source");
  const paths = recordingPaths(v);
  if ([optStr(v, "db_path"), source, paths.length ? "x" : undefined].filter(Boolean).length > 1) {
    throw new FlagError("give one of --db_path, --recordings or --source");
  }
  // --source: a directory is an LMDB, a file a recording (its format told from its content).
  const isLmdb = source !== undefined && isDirectory(source);
  return {
    ...recordingOptions(v),
    dbPath: optStr(v, "db_path") ?? (isLmdb ? source : undefined),
    recordings: source && !isLmdb ? [source] : paths,
    sfreq: optNum(v, "sfreq"),
    unitScale: optNum(v, "unit_scale"),
    skipBad: bool(v, "skip_bad"),
  };
}

await runCli({
  usage: "deno task extract --model DIR --input FILE.npz --out FILE.npz [--hooks all|NAME,...]\n" +
    "deno task extract --model DIR --db_path LMDB | --recordings PATH | --source PATH --out DIR\n" +
    "                  [--block_layer -2 --hook hook_resid_post --scaling zscore_clip15]\n\n" +
    "NPZ mode: runs REVE (DIR/config.json + DIR/model.safetensors) on eeg [B,C,T] (200 Hz) with\n" +
    "pos [B,C,3] or channels (electrode names) and writes patch_embed, fourier, mlp4d, pos_embed,\n" +
    "hidden.{i}, blocks.{l}.attn_out, blocks.{l}.mlp_out, final, attention_pooled and the hooks\n" +
    "asked for (blocks.{l}.hook_resid_post, blocks.{l}.attn.hook_pattern, ...; negative l counts\n" +
    "from the end).\n" +
    "Dataset mode: resamples to 200 Hz, scales, runs the model and writes the hook's activations\n" +
    "as shards [tokens, d] float32 (.npy) with index.json (per-token trial, channel, patch, label).",
  flags: [
    { name: "model", type: "string", help: "model folder with config.json and model.safetensors" },
    { name: "input", type: "string", help: "NPZ mode: eeg [B,C,T] and pos [B,C,3] or channels" },
    { name: "out", type: "string", help: "NPZ mode: file to write; dataset mode: folder" },
    {
      name: "hooks",
      type: "list",
      help: "NPZ mode: hook names (comma-separated) or all",
      default: [],
    },
    { name: "max_batch", type: "int", help: "at most this many trials per GPU pass" },
    { name: "db_path", type: "string", help: "dataset mode: LMDB directory" },
    ...RECORDING_FLAGS,
    { name: "source", type: "string", help: "dataset mode: LMDB directory or recording file" },
    {
      name: "block_layer",
      type: "int",
      help: "dataset mode: block (negative counts from the end)",
      default: -2,
    },
    {
      name: "hook",
      type: "string",
      help: "dataset mode: hook point or full name",
      default: "hook_resid_post",
    },
    {
      name: "scaling",
      type: "string",
      help: "dataset mode: scaling",
      choices: SCALING_MODES,
      default: "zscore_clip15",
    },
    { name: "batch_size", type: "int", help: "dataset mode: trials per forward", default: 32 },
    { name: "shard_trials", type: "int", help: "dataset mode: trials per shard", default: 256 },
    { name: "sfreq", type: "number", help: "LMDB: stored rate (default: dataset.json, else 200)" },
    { name: "unit_scale", type: "number", help: "LMDB: stored value × this = µV (default 1)" },
    { name: "skip_bad", type: "boolean", help: "skip and list malformed trials", default: false },
  ],
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
      source: sourceSpec(values),
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
