/**
 * Writes the synthetic motor-imagery set to disk in the earlier pipeline's LMDB format, with
 * `ground_truth.json` (what was planted where) and the `dataset.json` sidecar (sampling rate,
 * channels) beside it, so the synthetic path exercises the real LMDB reader.
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { DATASET_SIDECAR, type DatasetSidecar } from "./lmdb_source.ts";
import { writeTrialLmdb } from "./lmdb_writer.ts";
import { BCIC2A_CHANNELS } from "./montage.ts";
import {
  checkSyntheticOptions,
  groundTruth,
  SESSIONS,
  SYNTHETIC_GENERATOR,
  type SyntheticOptions,
  syntheticTrials,
} from "./synthetic.ts";
import type { Split } from "./trials.ts";

export const GROUND_TRUTH_FILE = "ground_truth.json";

export interface SyntheticDatasetSummary {
  path: string;
  trials: number;
  bytes: number;
  seconds: number;
}

export async function writeSyntheticDataset(
  out: string,
  options: SyntheticOptions,
): Promise<SyntheticDatasetSummary> {
  checkSyntheticOptions(options);
  const started = performance.now();
  const truth = groundTruth(options);
  const samples = Math.round(options.seconds * options.sfreq);
  const keysBySplit: Record<Split, string[]> = { train: [], val: [], test: [] };
  const trials = syntheticTrials(options);
  const collectKeys = function* () {
    for (const t of trials) {
      if (t.split) keysBySplit[t.split].push(t.key);
      yield t;
    }
  };
  const expectedTrials = options.subjects * SESSIONS.length * 4 * options.trialsPerClass;
  // The split entry is written last, after every key is known.
  const summary = await writeTrialLmdb(out, collectKeys(), {
    channels: BCIC2A_CHANNELS.length,
    samples,
    expectedTrials,
    splits: keysBySplit,
  });
  const sidecar: DatasetSidecar = {
    sfreq: options.sfreq,
    channels: [...BCIC2A_CHANNELS],
    unit_scale: 1,
    generator: SYNTHETIC_GENERATOR,
  };
  await writeJsonAtomic(join(out, DATASET_SIDECAR), sidecar);
  await writeJsonAtomic(join(out, GROUND_TRUTH_FILE), truth);
  return {
    path: out,
    trials: summary.trials,
    bytes: summary.bytes,
    seconds: (performance.now() - started) / 1000,
  };
}
