/**
 * The trial types every EEG stage shares.
 *
 * - `TrialSource`: a dataset opened for reading (LMDB, GDF, in-memory). Its metadata (`trials`:
 *   key, label, subject, session, split) is all in memory and cheap; the signals are read one
 *   trial at a time with `read(i)` (a `[C,T]` Float32Array in microvolts, at `sfreq`). Sources
 *   validate every trial when they open, so `read` only fails on I/O.
 * - `trialBatches(source, {batchSize, indices})`: streams `[B,C,T]` batches without loading the
 *   whole dataset (what the REVE extractor uses on large sets).
 * - `TrialSet`: a dataset fully in memory, `eeg [N,C,T]` plus per-trial arrays and the
 *   `preprocessing` record that says what was done to it (resampling, filter, scaling,
 *   alignment); `loadTrialSet(source)` builds one, `preprocessTrialSet` (preprocess.ts)
 *   transforms it, and the record travels into every output file.
 */
import { EegSaeError } from "../util/errors.ts";

export type Split = "train" | "val" | "test";
export const SPLITS: readonly Split[] = ["train", "val", "test"];

/** Per-trial metadata, known without reading the signal. */
export interface TrialMeta {
  /** The trial's key in its source (LMDB key, `A01T-12` for GDF trial 12). */
  key: string;
  /** Class index 0..3 for BCIC2a: left hand, right hand, feet, tongue; -1 if unknown. */
  label: number;
  /** 1-based subject number; 0 when the source does not say. */
  subject: number;
  /** Session name ("T" training, "E" evaluation for BCIC2a); "" when unknown. */
  session: string;
  split?: Split;
  /** 0-based run (or EDF+D segment) of a recording with several. */
  run?: number;
  /** Marked as rejected by the recording (GDF event 1023). */
  rejected?: boolean;
}

export interface Trial extends TrialMeta {
  /** `[C,T]` row-major, microvolts. */
  eeg: Float32Array;
}

/** A dataset opened for reading. */
export interface TrialSource {
  /** Where the data comes from, e.g. `lmdb /data/bcic2a`: for messages and run.json. */
  readonly description: string;
  readonly channels: readonly string[];
  /** Sampling rate in Hz of what `read` returns. */
  readonly sfreq: number;
  /** Samples per trial (T). */
  readonly samples: number;
  readonly trials: readonly TrialMeta[];
  read(index: number): Promise<Trial>;
  close(): void;
}

export type ScalingMode = "none" | "zscore_clip15" | "uv_div100";

/** What was done to the signals since they left the source: recorded in every output. */
export interface PreprocessingRecord {
  source: string;
  source_sfreq: number;
  sfreq: number;
  /** Resampler used when `sfreq` differs from `source_sfreq`. */
  resampler: string | null;
  /** Zero-phase band-pass edges in Hz, or null. */
  bandpass: [number, number] | null;
  scaling: ScalingMode;
  euclidean_alignment: boolean;
  /** Unit of `eeg`: "uV" before scaling, otherwise what the scaling leaves. */
  unit: string;
}

/** A dataset in memory. */
export interface TrialSet {
  /** `[n, C, T]` row-major. */
  eeg: Float32Array;
  n: number;
  channels: string[];
  samples: number;
  sfreq: number;
  labels: Int32Array;
  subjects: Int32Array;
  sessions: string[];
  keys: string[];
  split?: Split[];
  runs?: Int32Array;
  rejected?: Uint8Array;
  preprocessing: PreprocessingRecord;
}

export interface TrialBatch {
  /** Indices into `source.trials`. */
  indices: number[];
  /** `[B, C, T]` row-major. */
  eeg: Float32Array;
  labels: Int32Array;
  subjects: Int32Array;
  sessions: string[];
  keys: string[];
}

export class TrialSetError extends EegSaeError {}

/** Streams `[B,C,T]` batches of the given trials (all by default), reading one trial at a time. */
export async function* trialBatches(
  source: TrialSource,
  options: { batchSize: number; indices?: readonly number[] },
): AsyncGenerator<TrialBatch> {
  const { batchSize } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new TrialSetError(`batch size must be a positive integer, got ${batchSize}`);
  }
  const indices = options.indices ?? source.trials.map((_, i) => i);
  const per = source.channels.length * source.samples;
  for (let start = 0; start < indices.length; start += batchSize) {
    const idx = indices.slice(start, start + batchSize);
    const batch: TrialBatch = {
      indices: idx,
      eeg: new Float32Array(idx.length * per),
      labels: new Int32Array(idx.length),
      subjects: new Int32Array(idx.length),
      sessions: [],
      keys: [],
    };
    for (let b = 0; b < idx.length; b++) {
      const t = await source.read(checkIndex(source, idx[b]));
      batch.eeg.set(t.eeg, b * per);
      batch.labels[b] = t.label;
      batch.subjects[b] = t.subject;
      batch.sessions.push(t.session);
      batch.keys.push(t.key);
    }
    yield batch;
  }
}

/** Reads the given trials (all by default) into memory, untouched (`preprocessing.scaling` none). */
export async function loadTrialSet(
  source: TrialSource,
  indices?: readonly number[],
): Promise<TrialSet> {
  const idx = indices ?? source.trials.map((_, i) => i);
  if (idx.length === 0) throw new TrialSetError(`${source.description}: no trials selected`);
  const per = source.channels.length * source.samples;
  const eeg = new Float32Array(idx.length * per);
  let offset = 0;
  for await (const batch of trialBatches(source, { batchSize: 64, indices: idx })) {
    eeg.set(batch.eeg, offset);
    offset += batch.eeg.length;
  }
  const metas = idx.map((i) => source.trials[i]);
  const set: TrialSet = {
    eeg,
    n: idx.length,
    channels: [...source.channels],
    samples: source.samples,
    sfreq: source.sfreq,
    labels: Int32Array.from(metas, (m) => m.label),
    subjects: Int32Array.from(metas, (m) => m.subject),
    sessions: metas.map((m) => m.session),
    keys: metas.map((m) => m.key),
    preprocessing: {
      source: source.description,
      source_sfreq: source.sfreq,
      sfreq: source.sfreq,
      resampler: null,
      bandpass: null,
      scaling: "none",
      euclidean_alignment: false,
      unit: "uV",
    },
  };
  if (metas.some((m) => m.split !== undefined)) set.split = metas.map((m) => m.split ?? "train");
  if (metas.some((m) => m.run !== undefined)) set.runs = Int32Array.from(metas, (m) => m.run ?? 0);
  if (metas.some((m) => m.rejected)) {
    set.rejected = Uint8Array.from(metas, (m) => m.rejected ? 1 : 0);
  }
  return set;
}

/** The trials of `set` at `indices`, as a new set sharing nothing with the old one. */
export function subsetTrialSet(set: TrialSet, indices: readonly number[]): TrialSet {
  const per = set.channels.length * set.samples;
  const eeg = new Float32Array(indices.length * per);
  indices.forEach((i, k) => {
    if (!Number.isInteger(i) || i < 0 || i >= set.n) {
      throw new TrialSetError(`trial index ${i} is outside 0..${set.n - 1}`);
    }
    eeg.set(set.eeg.subarray(i * per, (i + 1) * per), k * per);
  });
  const pick = <T>(a: ArrayLike<T>) => indices.map((i) => a[i]);
  const out: TrialSet = {
    ...set,
    eeg,
    n: indices.length,
    channels: [...set.channels],
    labels: Int32Array.from(pick(set.labels)),
    subjects: Int32Array.from(pick(set.subjects)),
    sessions: pick(set.sessions),
    keys: pick(set.keys),
    preprocessing: { ...set.preprocessing },
  };
  if (set.split) out.split = pick(set.split);
  if (set.runs) out.runs = Int32Array.from(pick(set.runs));
  if (set.rejected) out.rejected = Uint8Array.from(pick(set.rejected));
  return out;
}

/** One trial of a set: a `[C,T]` view (no copy). */
export function trialView(set: TrialSet, i: number): Float32Array {
  const per = set.channels.length * set.samples;
  return set.eeg.subarray(i * per, (i + 1) * per);
}

function checkIndex(source: TrialSource, i: number): number {
  if (!Number.isInteger(i) || i < 0 || i >= source.trials.length) {
    throw new TrialSetError(
      `${source.description}: trial index ${i} is outside 0..${source.trials.length - 1}`,
    );
  }
  return i;
}
