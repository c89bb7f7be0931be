/**
 * Builds `run.json` (the site's RunInfo contract, schema/run_folder.ts) from what a run
 * actually used: the activation index that extract wrote (model, hook, preprocessing, trials) and
 * the command line. Train and the demo both write it through here.
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import type { AdapterReport } from "../gpu/device.ts";
import type { ActivationIndex } from "../reve/activation_shards.ts";
import type { DataSourceKind, RunInfo, ScalingKind } from "../../schema/run_folder.ts";
import { BCIC2A_CLASS_NAMES } from "../data/montage.ts";
import { DATASET_SIDECAR, type DatasetSidecar } from "../data/lmdb_source.ts";
import { isRandomReveModel } from "../reve/random_model.ts";

export interface RunInfoInputs {
  out: string;
  command: string;
  flags: RunInfo["flags"];
  adapter: AdapterReport | null;
  index: ActivationIndex;
  data: DataSourceInfoInputs;
  split: string;
  /** Whether the REVE weights are random (demo, tests) rather than pretrained. */
  randomWeights: boolean;
  classNames?: string[];
}

export interface DataSourceInfoInputs {
  kind: DataSourceKind;
  path: string | null;
  dataset: string;
  seed: number | null;
}

/** Where the activations' trials came from, from the source the extract recorded. */
export async function dataSourceOf(index: ActivationIndex): Promise<DataSourceInfoInputs> {
  const [kind, ...rest] = index.preprocessing.source.split(" ");
  const path = rest.join(" ") || null;
  if (kind === "gdf") return { kind: "gdf", path, dataset: "BCIC2a", seed: null };
  if (kind === "recordings") return { kind: "recordings", path, dataset: "recordings", seed: null };
  let sidecar: DatasetSidecar | undefined;
  if (path) {
    try {
      sidecar = JSON.parse(await Deno.readTextFile(join(path, DATASET_SIDECAR)));
    } catch {
      sidecar = undefined;
    }
  }
  return sidecar?.generator
    ? { kind: "synthetic", path, dataset: `synthetic BCIC2a (${sidecar.generator})`, seed: null }
    : { kind: "lmdb", path, dataset: "BCIC2a", seed: null };
}

export function buildRunInfo(o: RunInfoInputs): RunInfo {
  const ix = o.index;
  const layer = /^blocks\.(-?\d+)\./.exec(ix.hook);
  const pre = ix.preprocessing;
  const scaling: ScalingKind = pre.scaling === "uv_div100" ? "uv_div100" : "zscore_clip15";
  return {
    name: o.out.split("/").filter(Boolean).at(-1) ?? o.out,
    created_at: new Date().toISOString(),
    command: o.command,
    flags: o.flags,
    versions: { deno: Deno.version.deno, v8: Deno.version.v8, typescript: Deno.version.typescript },
    adapter: o.adapter
      ? {
        vendor: o.adapter.vendor,
        architecture: o.adapter.architecture,
        device: o.adapter.description,
        description: `${o.adapter.description}${
          o.adapter.isFallbackAdapter ? " (software fallback adapter)" : ""
        }`,
      }
      : null,
    data: {
      kind: o.data.kind,
      path: o.data.path,
      dataset: o.data.dataset,
      subjects: [...new Set(ix.trials.subject)].sort((a, b) => a - b),
      sessions: [...new Set(ix.trials.session)].sort(),
      split: o.split,
      n_trials: ix.trials.key.length,
      channels: ix.channels,
      class_names: o.classNames ?? [...BCIC2A_CLASS_NAMES],
      seed: o.data.seed,
    },
    preprocessing: {
      sfreq: pre.sfreq,
      source_sfreq: pre.source_sfreq,
      scaling,
      window_s: [0, samplesOf(ix) / pre.sfreq],
      n_samples: samplesOf(ix),
    },
    model: { path: ix.model.path, config: ix.model.config, random_weights: o.randomWeights },
    hook_name: ix.hook,
    block_layer: layer ? Number(layer[1]) : 0,
  };
}

/** Samples per trial; older indexes only allow the span the patches cover. */
function samplesOf(ix: ActivationIndex): number {
  if (ix.samples !== undefined) return ix.samples;
  const size = Number(ix.model.config.patch_size);
  const overlap = Number(ix.model.config.patch_overlap);
  return (ix.patches - 1) * (size - overlap) + size;
}

/** Writes `run.json` for a run trained on the activations that `index` describes. */
export async function writeRunInfo(
  o: Omit<RunInfoInputs, "data" | "randomWeights"> & Partial<RunInfoInputs>,
): Promise<void> {
  const info = buildRunInfo({
    ...o,
    data: o.data ?? await dataSourceOf(o.index),
    randomWeights: o.randomWeights ?? await isRandomReveModel(o.index.model.path),
  });
  await writeJsonAtomic(join(o.out, "run.json"), info);
}
