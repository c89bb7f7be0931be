/**
 * A folder of BCIC2a competition GDF files (`A01T.gdf`, `A01E.gdf`, ...) converted into one LMDB in
 * the seed pipeline's format, so every later stage reads it through the same LMDB path. Evaluation
 * sessions need their labels beside the GDF: the competition's `A01E.mat` (from its
 * true_labels archive), or a text file (`A01E.txt`, `A01E.csv` or `A01E_labels.txt`, classes 1–4,
 * one per line); an evaluation file without one is left out, and said so.
 */
import { basename, join } from "node:path";
import { writeJsonAtomic } from "../io/atomic.ts";
import { GdfSource } from "./gdf_source.ts";
import { DATASET_SIDECAR, type DatasetSidecar } from "./lmdb_source.ts";
import { type LmdbTrialRecord, writeTrialLmdb } from "./lmdb_writer.ts";
import { EegSaeError } from "../util/errors.ts";

export class GdfFolderError extends EegSaeError {
  constructor(dir: string, message: string) {
    super(`${dir}: ${message}`);
  }
}

export interface GdfFolderSummary {
  files: string[];
  skipped: string[];
  trials: number;
  sfreq: number;
}

async function labelFileFor(gdf: string): Promise<string | undefined> {
  for (const ext of [".mat", ".txt", ".csv", "_labels.txt"]) {
    const candidate = gdf.replace(/\.gdf$/i, ext);
    if (await Deno.stat(candidate).then(() => true, () => false)) return candidate;
  }
  return undefined;
}

export async function convertGdfFolder(
  dir: string,
  out: string,
  log: (line: string) => void = console.log,
): Promise<GdfFolderSummary> {
  const files: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && /^A\d{2}[TE]\.gdf$/i.test(e.name)) files.push(join(dir, e.name));
    }
  } catch (e) {
    throw new GdfFolderError(dir, `cannot list: ${(e as Error).message}`);
  }
  files.sort();
  if (files.length === 0) throw new GdfFolderError(dir, "no BCIC2a GDF files (A01T.gdf, ...)");
  const records: LmdbTrialRecord[] = [];
  const used: string[] = [];
  const skipped: string[] = [];
  let sfreq = 0;
  let channels: readonly string[] = [];
  let samples = 0;
  for (const file of files) {
    const evaluation = /E\.gdf$/i.test(file);
    const labelFile = evaluation ? await labelFileFor(file) : undefined;
    if (evaluation && !labelFile) {
      skipped.push(file);
      log(
        `  ${basename(file)}: no label file (${basename(file, ".gdf")}.mat or .txt) beside it; ` +
          "left out",
      );
      continue;
    }
    const source = await GdfSource.open(file, { labelFile });
    try {
      if (sfreq && (source.sfreq !== sfreq || source.samples !== samples)) {
        throw new GdfFolderError(
          dir,
          `${basename(file)} has ${source.samples} samples at ${source.sfreq} Hz per trial, ` +
            `the first file ${samples} at ${sfreq} Hz`,
        );
      }
      sfreq = source.sfreq;
      samples = source.samples;
      channels = source.channels;
      for (let i = 0; i < source.trials.length; i++) {
        const t = await source.read(i);
        records.push({ key: t.key, label: t.label, eeg: t.eeg });
      }
      used.push(file);
      log(`  ${basename(file)}: ${source.trials.length} trials`);
    } finally {
      source.close();
    }
  }
  if (records.length === 0) throw new GdfFolderError(dir, "no labelled trials to convert");
  await writeTrialLmdb(out, records, {
    channels: channels.length,
    samples,
    expectedTrials: records.length,
  });
  const sidecar: DatasetSidecar = { sfreq, channels: [...channels], unit_scale: 1 };
  await writeJsonAtomic(join(out, DATASET_SIDECAR), sidecar);
  return { files: used, skipped, trials: records.length, sfreq };
}
