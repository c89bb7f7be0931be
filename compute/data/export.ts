/**
 * `data export`: a trial source, optionally preprocessed, as one `.npz` that numpy opens:
 * `eeg [N,C,T]` float32, `labels`, `subjects` (int64), `sessions`, `keys`, `channels` (numpy
 * unicode), `sfreq` (float64 scalar), `preprocessing` (JSON text), and `split` / `runs` /
 * `rejected` when the source has them. Our own checks call this interface: keep the names.
 */
import { i64, type NdArray, str } from "../io/npy.ts";
import { writeNpz } from "../io/npz.ts";
import { type PreprocessOptions, preprocessTrialSet } from "./preprocess.ts";
import { loadTrialSet, type TrialSet, type TrialSource } from "./trials.ts";

export function trialSetArrays(set: TrialSet): Record<string, NdArray> {
  const arrays: Record<string, NdArray> = {
    eeg: { dtype: "f4", shape: [set.n, set.channels.length, set.samples], data: set.eeg },
    labels: i64(Array.from(set.labels)),
    subjects: i64(Array.from(set.subjects)),
    sessions: str(set.sessions),
    keys: str(set.keys),
    channels: str(set.channels),
    sfreq: { dtype: "f8", shape: [], data: Float64Array.of(set.sfreq) },
    preprocessing: str([JSON.stringify(set.preprocessing)], []),
  };
  if (set.split) arrays.split = str(set.split);
  if (set.runs) arrays.runs = i64(Array.from(set.runs));
  if (set.rejected) arrays.rejected = { dtype: "b1", shape: [set.n], data: set.rejected };
  return arrays;
}

export interface ExportSummary {
  out: string;
  trials: number;
  shape: number[];
  sfreq: number;
}

/** Loads every trial, applies `preprocess` when given, and writes the `.npz` atomically. */
export async function exportTrials(
  source: TrialSource,
  out: string,
  preprocess?: PreprocessOptions,
): Promise<ExportSummary> {
  let set = await loadTrialSet(source);
  if (preprocess) set = preprocessTrialSet(set, preprocess);
  await writeNpz(out, trialSetArrays(set));
  return {
    out,
    trials: set.n,
    shape: [set.n, set.channels.length, set.samples],
    sfreq: set.sfreq,
  };
}
