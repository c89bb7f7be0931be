/**
 * `deno task probe`: pool the activations of every trial (or reuse a saved pooled file), run the
 * probe under the chosen protocol and write one JSON per input under `<out>/probe/`.
 */
import { join, resolve } from "node:path";
import { Progress } from "../util/progress.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { checkOutputTarget, type OutputSpec, writeOutputFolder } from "../io/output_folder.ts";
import { asFloat32, f16, f32, i32, type NdArray, str } from "../io/npy.ts";
import { readNpz, writeNpz } from "../io/npz.ts";
import type { ScalingMode } from "../data/trials.ts";
import { loadAnalysisInputs } from "./analysis_inputs.ts";
import type { ProbeFitOptions } from "./probe_fit.ts";
import {
  poolActivations,
  type PooledActivations,
  type ProbeInputName,
  runProbes,
} from "./probe.ts";
import type { ProbeProtocolKind, ProbeResult } from "../../schema/run_folder.ts";
import type { TopKCriterion } from "./topk_masking.ts";
import { EegSaeError } from "../util/errors.ts";

/** The pooled activations a probe run computes, kept beside its results. */
const POOLED_FILE = "pooled_activations.npz";

export class ProbeTaskError extends EegSaeError {}

export interface ProbeTaskOptions {
  saeDir: string;
  modelDir: string;
  dbPath: string;
  /** Run folder: results go to `<out>/probe/`. */
  out: string;
  /** Default: the scaling recorded in the SAE's cfg.json. */
  scaling?: ScalingMode;
  hook?: string;
  /** Block of a short-form hook (default: the SAE's). */
  blockLayer?: number;
  batchSize: number;
  protocol: ProbeProtocolKind;
  testSubject?: number;
  /** Folds of the within-subject protocol. */
  cvFolds?: number;
  inputs: ProbeInputName[];
  fit: ProbeFitOptions;
  kValues: (number | "all")[];
  rankings: TopKCriterion[];
  oracle: boolean;
  classNames: string[];
  /** A pooled_activations.npz from an earlier run, to skip REVE and the SAE. */
  pooled?: string;
  skipBad: boolean;
}

export interface PooledFile {
  pooled: PooledActivations;
  labels: Int32Array;
  subjects: Int32Array;
  settings: Record<string, string | number | boolean | null>;
}

/** Largest finite float16. */
const F16_MAX = 65504;

/**
 * A pooled array as the saved file holds it: float16 when every value fits (half the bytes, and
 * the file is deflated), float32 otherwise. The values are rounded to float16 in place (a copy
 * would be another 2 × trials × d_sae floats at full scale): the probe fits the stored values, so
 * a rerun from the file reproduces the run.
 */
function storedPooled(data: Float32Array, shape: number[]): NdArray {
  if (!data.every((v) => Math.abs(v) <= F16_MAX)) return f32(data, shape);
  for (let i = 0; i < data.length; i++) data[i] = Math.f16round(data[i]);
  return f16(data, shape);
}

function need(arrays: Map<string, NdArray>, path: string, name: string): NdArray {
  const a = arrays.get(name);
  if (!a) throw new ProbeTaskError(`${path}: no "${name}" array (not a pooled_activations.npz?)`);
  return a;
}

export async function readPooledFile(path: string): Promise<PooledFile> {
  const arrays = await readNpz(path);
  const saeMean = need(arrays, path, "sae_mean");
  const reveMean = need(arrays, path, "reve_mean");
  const [n, dSae] = saeMean.shape;
  const dIn = reveMean.shape[1];
  const ints = (name: string) =>
    Int32Array.from(need(arrays, path, name).data as ArrayLike<number>);
  const settingsArr = need(arrays, path, "settings_json").data as string[];
  return {
    pooled: {
      n,
      dSae,
      dIn,
      saeMean: asFloat32(saeMean, `${path}: sae_mean`),
      saeMax: asFloat32(need(arrays, path, "sae_max"), `${path}: sae_max`),
      reveMean: asFloat32(reveMean, `${path}: reve_mean`),
      reconMean: asFloat32(need(arrays, path, "recon_mean"), `${path}: recon_mean`),
    },
    labels: ints("labels"),
    subjects: ints("subjects"),
    settings: JSON.parse(settingsArr[0]),
  };
}

async function pooledFromModel(o: ProbeTaskOptions, out: string): Promise<PooledFile> {
  const inputs = await loadAnalysisInputs({ ...o, split: "all" });
  try {
    const { set, runner } = inputs;
    const bar = new Progress("pooling", set.n, { unit: "trials" });
    const pooled = await poolActivations(runner, set.n, o.batchSize, (done) => {
      bar.tick(done - bar.done);
    });
    bar.finish();
    const settings = {
      sae: o.saeDir,
      model: o.modelDir,
      db_path: o.dbPath,
      hook: inputs.hook,
      scaling: set.preprocessing.scaling,
      sfreq: set.preprocessing.sfreq,
      source_sfreq: set.preprocessing.source_sfreq,
      resampler: set.preprocessing.resampler,
      pooling: "mean and max over the C·p tokens of a trial",
    };
    const stored = {
      sae_mean: storedPooled(pooled.saeMean, [pooled.n, pooled.dSae]),
      sae_max: storedPooled(pooled.saeMax, [pooled.n, pooled.dSae]),
      reve_mean: storedPooled(pooled.reveMean, [pooled.n, pooled.dIn]),
      recon_mean: storedPooled(pooled.reconMean, [pooled.n, pooled.dIn]),
    };
    await writeNpz(join(out, POOLED_FILE), {
      ...stored,
      labels: i32(set.labels),
      subjects: i32(set.subjects),
      keys: str(set.keys),
      settings_json: str([JSON.stringify(settings)], []),
    }, { compress: true });
    return {
      pooled,
      labels: set.labels,
      subjects: set.subjects,
      settings,
    };
  } finally {
    inputs.dispose();
  }
}

export async function runProbeTask(o: ProbeTaskOptions): Promise<ProbeResult[]> {
  const out = join(o.out, "probe");
  // Refitting from this folder's own pooled file: the file is carried into the new folder.
  const own = o.pooled !== undefined && resolve(o.pooled) === resolve(out, POOLED_FILE);
  const target: OutputSpec = {
    madeBy: "probe",
    flag: "--out",
    inputs: o.pooled
      ? { pooled: own ? undefined : o.pooled }
      : { sae: o.saeDir, model: o.modelDir, db_path: o.dbPath },
  };
  await checkOutputTarget(out, target);
  return await writeOutputFolder(out, target, async (tmp) => {
    const data = o.pooled ? await readPooledFile(o.pooled) : await pooledFromModel(o, tmp);
    if (own) await Deno.copyFile(o.pooled!, join(tmp, POOLED_FILE));
    const results = runProbes(data.pooled, data.labels, data.subjects, {
      protocol: o.protocol,
      testSubject: o.testSubject,
      cvFolds: o.cvFolds,
      inputs: o.inputs,
      fit: o.fit,
      kValues: o.kValues,
      rankings: o.rankings,
      oracle: o.oracle,
      classNames: o.classNames,
      settings: { ...data.settings, pooled_file: o.pooled ?? join(out, POOLED_FILE) },
    });
    for (const r of results) {
      await writeJsonAtomic(join(tmp, `${r.name}.json`), r);
      const std = r.metrics_std ? ` ± ${r.metrics_std.balanced_accuracy.toFixed(3)}` : "";
      console.log(
        `${r.name}: balanced accuracy ${r.metrics.balanced_accuracy.toFixed(3)}${std}, ` +
          `kappa ${r.metrics.kappa.toFixed(3)}, ${r.converged ? "converged" : "NOT CONVERGED"}`,
      );
    }
    return results;
  });
}
