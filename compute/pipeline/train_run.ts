/**
 * `deno task train` behind its flags: opens the activation source (a .npy file or shard folder,
 * or REVE over a dataset through the extract path), builds the config (or takes the stored one on
 * --resume), records the command in sae/train_command.json, trains, and prints the summary.
 * (run.json, in the site's RunInfo schema, is written by the pipeline stage that knows the
 * dataset; a bare activations file cannot fill it.)
 */
import { basename, dirname, join, resolve } from "node:path";
import { acquireFolderLock } from "../io/folder_lock.ts";
import { OUTPUT_MANIFEST, writeOutputManifest } from "../io/output_folder.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { writeRunInfo } from "./run_info.ts";
import { describeAdapter, getGpu } from "../gpu/mod.ts";
import {
  defaultSaeConfig,
  describeSteps,
  type SaeTrainConfig,
  validateSaeConfig,
} from "../sae/config.ts";
import { openActivationFiles } from "../sae/activation_store.ts";
import { loadTrainState } from "../sae/checkpoint.ts";
import { trainSae, type TrainSummary } from "../sae/trainer.ts";
import { extractDataset } from "../reve/extract_dataset.ts";
import {
  ACTIVATION_INDEX,
  type ActivationIndex,
  readActivationIndex,
} from "../reve/activation_shards.ts";
import type { ScalingMode } from "../data/trials.ts";
import type { SourceSpec } from "../data/open_source.ts";
import { canonicalHookName } from "../reve/hooks.ts";
import { EegSaeError } from "../util/errors.ts";

export class TrainSetupError extends EegSaeError {}

export interface ReveExtractSpec {
  source: SourceSpec;
  /** REVE model folder (HF layout) or hub name. */
  model: string;
  blockLayer: number;
  /** Hook point (`resid_post`, `mlp_in`, ...) or a full name, ours or the earlier pipeline's. */
  hook: string;
  scaling: ScalingMode;
  /** Trials per REVE forward. */
  batchSize: number;
}

export interface TrainRunOptions {
  /** .npy file or folder of .npy shards [N, d_in]. */
  activations?: string;
  /** REVE path: extract the hook over this dataset into `<out>/activations`, then train on it. */
  reve?: ReveExtractSpec;
  out: string;
  /** The caller (the demo) has checked `out` and holds its lock: its earlier stages are there. */
  folderChecked?: boolean;
  resume?: string;
  /** Config fields given on the command line (d_in comes from the activations). */
  config: Partial<SaeTrainConfig>;
  /** The command line, for sae/train_command.json. */
  argv: string[];
  /** The command recorded in run.json and train_command.json (default: `deno task train` + argv). */
  command?: string;
  progress: boolean;
}

/** Activations through REVE by the extract path, into the new run folder. */
async function extractForTraining(spec: ReveExtractSpec, out: string): Promise<string> {
  const dir = join(out, "activations");
  const index = await extractDataset({
    model: spec.model,
    source: spec.source,
    out: dir,
    blockLayer: spec.blockLayer,
    hook: spec.hook,
    scaling: spec.scaling,
    batchSize: spec.batchSize,
    trialsPerShard: 256,
    log: (line) => console.error(line),
  });
  console.log(`extracted ${index.tokens} tokens × ${index.d} of ${index.hook} into ${dir}`);
  return dir;
}

/** `<out>/activations` when an earlier --db_path run extracted there. */
async function extractedBefore(out: string): Promise<string | undefined> {
  const dir = join(out, "activations");
  try {
    await Deno.stat(join(dir, ACTIVATION_INDEX));
    return dir;
  } catch {
    return undefined;
  }
}

/** The index extract wrote beside its shards, if `path` is such a folder. */
async function activationIndexOf(path: string): Promise<ActivationIndex | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(join(path, ACTIVATION_INDEX)));
  } catch {
    return undefined;
  }
}

/** Config fields as run.json flags (snake_case keys, scalar values). */
function runFlags(cfg: Partial<SaeTrainConfig>): Record<string, string | number | boolean> {
  const flags: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(cfg)) {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      flags[k.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase())] = v;
    }
  }
  return flags;
}

/** Hook, model and preprocessing recorded by extract next to its shards, for cfg.json. */
async function shardProvenance(path: string): Promise<Record<string, string | number | boolean>> {
  const index = await activationIndexOf(path);
  if (!index) return {};
  const layer = /^blocks\.(-?\d+)\./.exec(index.hook ?? "");
  return {
    hook_name: index.hook,
    ...(layer ? { block_layer: Number(layer[1]) } : {}),
    model: index.model?.path ?? "",
    preprocessing: JSON.stringify(index.preprocessing ?? null),
    context_size: index.tokens_per_trial ?? 0,
  };
}

/** A new run needs an absent or empty folder; checked before anything is written. */
async function checkNewRunFolder(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = [];
    for await (const e of Deno.readDir(out)) entries.push(e.name);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    if (e instanceof Deno.errors.NotADirectory) {
      throw new TrainSetupError(`--out ${out} exists and is not a folder`);
    }
    throw e;
  }
  if (entries.length === 0) return;
  const hasRun = entries.includes("sae");
  throw new TrainSetupError(
    `--out ${out} already exists and is not empty` +
      (hasRun
        ? `: continue that run with --resume ${out}, or choose another --out`
        : "; choose a new folder"),
  );
}

/** On --resume with --db_path: the activations extracted before must be those asked for now. */
function checkActivationsMatch(index: ActivationIndex, spec: ReveExtractSpec, dir: string): void {
  const depth = Number(index.model.config.depth);
  const asked = canonicalHookName(spec.hook, spec.blockLayer).replace(
    /^blocks\.(-\d+)\./,
    (_, l: string) => `blocks.${depth + Number(l)}.`,
  );
  const wrong: string[] = [];
  if (index.hook !== asked) wrong.push(`hook ${index.hook}, asked ${asked}`);
  const source = index.preprocessing.source;
  const askedDb = spec.source.dbPath;
  if (askedDb !== undefined && resolve(source.replace(/^lmdb /, "")) !== resolve(askedDb)) {
    wrong.push(`data ${source}, asked --db_path ${askedDb}`);
  }
  if (resolve(index.model.path) !== resolve(spec.model)) {
    wrong.push(`model ${index.model.path}, asked ${spec.model}`);
  }
  if (index.preprocessing.scaling !== spec.scaling) {
    wrong.push(`scaling ${index.preprocessing.scaling}, asked ${spec.scaling}`);
  }
  if (wrong.length > 0) {
    throw new TrainSetupError(
      `${join(dir, ACTIVATION_INDEX)} does not match this command: ${wrong.join("; ")}`,
    );
  }
}

export async function runTraining(o: TrainRunOptions): Promise<TrainSummary> {
  const out = o.resume ?? o.out;
  // Everything is checked before anything is written.
  if (!o.resume && !o.folderChecked) await checkNewRunFolder(out);
  if (!o.resume) {
    // The fields that do not depend on d_in, before an extraction that may take minutes (the
    // rest once the activations give d_in).
    const wide = 1 << 16;
    validateSaeConfig(defaultSaeConfig(wide, { kAux: 1, ...o.config, dIn: wide }));
  }
  await Deno.mkdir(dirname(resolve(out)), { recursive: true });
  const lock = await acquireFolderLock(
    join(dirname(resolve(out)), `.${basename(resolve(out))}.lock`),
    `the run folder ${out}`,
  );
  try {
    return await trainLocked(o, out);
  } finally {
    await lock.release();
  }
}

async function trainLocked(o: TrainRunOptions, out: string): Promise<TrainSummary> {
  let base: Partial<SaeTrainConfig> = o.config;
  if (o.resume) base = (await loadTrainState(o.resume)).cfg;
  const defaults = defaultSaeConfig(1);
  console.log(`training plan: ${describeSteps({ ...defaults, ...base })}`);
  const earlier = o.resume ? await extractedBefore(out) : undefined;
  if (earlier && o.reve) checkActivationsMatch(await readActivationIndex(earlier), o.reve, earlier);
  const path = o.activations ?? earlier ??
    (o.reve ? await extractForTraining(o.reve, out) : undefined);
  if (!path) {
    throw new TrainSetupError(
      "give --activations FILE.npy|DIR, or --db_path or --gdf with --model",
    );
  }
  const source = await openActivationFiles(
    path,
    base.trainBatchSizeTokens ?? defaults.trainBatchSizeTokens,
    base.nBatchesInBuffer ?? defaults.nBatchesInBuffer,
    base.seed ?? defaults.seed,
  );
  const cfg = o.resume ? (base as SaeTrainConfig) : defaultSaeConfig(source.dIn, {
    kAux: Math.max(1, Math.floor(source.dIn / 2)),
    ...o.config,
    provenance: { ...o.config.provenance, ...(await shardProvenance(path)) },
    dIn: source.dIn,
  });
  if (!o.resume) validateSaeConfig(cfg);
  const gpu = await getGpu();
  console.log(
    `${o.resume ? "resuming" : "training"} ${cfg.architecture} SAE d_in ${cfg.dIn} → d_sae ${
      Math.round(cfg.dIn * cfg.expansionFactor)
    } on ${source.description}; ${describeAdapter(gpu)}`,
  );
  const index = await activationIndexOf(path);
  if (!o.resume && index) {
    // A run on REVE activations gets the run.json the report site reads.
    await writeRunInfo({
      out,
      command: o.command ?? ["deno", "task", "train", ...o.argv].join(" "),
      flags: runFlags(o.config),
      adapter: gpu.adapter,
      index,
      split: "all",
    });
  }
  if (!o.resume) {
    await writeJsonAtomic(join(out, "sae", "train_command.json"), {
      command: o.command ?? ["deno", "task", "train", ...o.argv].join(" "),
      flags: o.config,
      deno: Deno.version,
      adapter: gpu.adapter,
      data_source: source.description,
      created_at: new Date().toISOString(),
    });
  }
  // Training again: the folder is no longer a finished output until it ends.
  await Deno.remove(join(out, "sae", OUTPUT_MANIFEST)).catch(() => {});
  const summary = await trainSae(cfg, source, {
    out,
    resume: Boolean(o.resume),
    progress: o.progress,
    gpu,
  });
  await writeOutputManifest(join(out, "sae"), "train", { activations: path });
  const l = summary.last;
  console.log(
    `done: ${summary.steps} steps, ${summary.tokens} tokens in ${summary.seconds.toFixed(1)} s ` +
      `(${Math.round(summary.tokensPerSecond)} tokens/s)` +
      (l
        ? `; loss ${l.loss.toPrecision(4)}, L0 ${l.l0.toFixed(2)}, explained variance ${
          l.explained_variance.toFixed(4)
        }, dead ${(l.dead_fraction * 100).toFixed(1)}%`
        : "") +
      `; checkpoint in ${join(out, "sae")}`,
  );
  return summary;
}
