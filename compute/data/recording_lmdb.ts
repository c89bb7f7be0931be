/**
 * Recordings (`--recordings` files or folders, `--gdf_dir`) converted into one LMDB in the earlier
 * pipeline's format, so every later stage reads them through the same LMDB path.
 */
import { join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { DATASET_SIDECAR, type DatasetSidecar } from "./lmdb_source.ts";
import { type LmdbTrialRecord, writeTrialLmdb } from "./lmdb_writer.ts";
import { openRecordings } from "./recording_files.ts";
import type { RecordingSourceOptions } from "./recording_source.ts";

export interface RecordingLmdbSummary {
  files: string[];
  skipped: { key: string; reason: string }[];
  trials: number;
  sfreq: number;
  subjects: number;
  /** Class names by label, up to the highest label present. */
  classes: string[];
}

export async function convertRecordings(
  paths: readonly string[],
  out: string,
  options: RecordingSourceOptions = {},
  log: (line: string) => void = console.log,
): Promise<RecordingLmdbSummary> {
  const set = await openRecordings(paths, options);
  for (const s of set.skippedFiles) log(`  ${s.key}: ${s.reason}; left out`);
  const records: LmdbTrialRecord[] = [];
  for (const source of set.sources) {
    for (let i = 0; i < source.trials.length; i++) {
      const t = await source.read(i);
      records.push({ key: t.key, label: t.label, eeg: t.eeg });
    }
    log(`  ${source.file}: ${source.trials.length} trials`);
  }
  await writeTrialLmdb(out, records, {
    channels: set.channels.length,
    samples: set.samples,
    expectedTrials: records.length,
  });
  const sidecar: DatasetSidecar = { sfreq: set.sfreq, channels: [...set.channels], unit_scale: 1 };
  await writeJsonAtomic(join(out, DATASET_SIDECAR), sidecar);
  return {
    files: set.sources.map((s) => s.file),
    skipped: [...set.skippedFiles],
    trials: records.length,
    sfreq: set.sfreq,
    subjects: new Set(set.trials.map((t) => t.subject)).size,
    classes: set.sources[0].summary.classes.slice(
      0,
      Math.max(...set.trials.map((t) => t.label)) + 1,
    ),
  };
}
