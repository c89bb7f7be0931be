/**
 * The data files the built site fetches in the browser (`<site>/data/`), shared by the build that
 * writes them (site/tools/site_data.ts) and the page scripts that read them:
 * - `data/meta.json` (`SiteMeta`): everything every page needs to draw: channels, classes, bands,
 *   electrode positions, patch geometry, chunk sizes, the alive feature ids.
 * - `data/features/<id>.json`: one alive feature's `FeatureDetail` (whatever the run's layout).
 * - `data/trial_acts/<k>.json`: the run's `TrialActsChunk` files, as they are.
 * - `data/eeg/<k>.bin`: the trials' EEG re-quantised to int8 per trial and channel (a display
 *   copy: 256 levels are below a pixel at the drawn row height), `eeg.chunk_size` trials a file.
 */
import type { BandDef, TrialStoreLayout } from "../../../schema/run_folder.ts";
import { EegSaeError } from "../../../compute/util/errors.ts";

export class SiteDataFileError extends EegSaeError {}

export interface SiteMeta {
  d_sae: number;
  channels: string[];
  class_names: string[];
  bands: BandDef[];
  /** Electrode xyz (metres) per channel. */
  positions: number[][];
  n_patches: number;
  patch_size: number;
  patch_step: number;
  sfreq: number;
  n_samples: number;
  n_trials: number;
  /** Chunking of `data/trial_acts/` (the run's trial store). */
  trial_acts: TrialStoreLayout;
  /** Chunking of `data/eeg/` (the site's own, smaller: a page fetches only its trial's file). */
  eeg: TrialStoreLayout;
  /** Ids of the features that have a `data/features/<id>.json`, ascending. */
  alive: number[];
}

/** Trials per `data/eeg/<k>.bin`: 16 × 22 channels × 800 samples is a 282 KB file. */
export const SITE_EEG_CHUNK = 16;
export const EEG8_MAX = 127;

/** URLs (or relative paths, with `base` = "") of the data files. */
export function siteDataPaths(base: string) {
  return {
    meta: `${base}data/meta.json`,
    feature: (id: number) => `${base}data/features/${id}.json`,
    trialActs: (k: number) => `${base}data/trial_acts/${k}.json`,
    eeg: (k: number) => `${base}data/eeg/${k}.bin`,
  };
}

/** One `data/eeg/<k>.bin`: little-endian float32 scales `[n][C]`, then int8 `[n][C][T]`;
 * sample = int8 · scale. */
export interface Eeg8Chunk {
  n: number;
  channels: number;
  samples: number;
  scales: Float32Array;
  values: Int8Array;
}

export function eeg8Bytes(chunk: Eeg8Chunk): Uint8Array {
  const rows = chunk.n * chunk.channels;
  const bytes = new Uint8Array(rows * 4 + rows * chunk.samples);
  const view = new DataView(bytes.buffer);
  for (let r = 0; r < rows; r++) view.setFloat32(r * 4, chunk.scales[r], true);
  bytes.set(
    new Uint8Array(chunk.values.buffer, chunk.values.byteOffset, chunk.values.length),
    rows * 4,
  );
  return bytes;
}

export function decodeEeg8(
  bytes: Uint8Array,
  n: number,
  channels: number,
  samples: number,
  file: string,
): Eeg8Chunk {
  const rows = n * channels;
  if (bytes.byteLength !== rows * (4 + samples)) {
    throw new SiteDataFileError(
      `${file}: expected ${rows * (4 + samples)} bytes (${n} trials × ${channels} channels × ` +
        `${samples} samples), got ${bytes.byteLength}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) scales[r] = view.getFloat32(r * 4, true);
  const values = new Int8Array(bytes.buffer, bytes.byteOffset + rows * 4, rows * samples).slice();
  return { n, channels, samples, scales, values };
}

/** Trial `j` of a chunk as `[C][T]` in model input units. */
export function eeg8Rows(chunk: Eeg8Chunk, j: number): number[][] {
  const { channels, samples } = chunk;
  return Array.from({ length: channels }, (_, c) => {
    const r = j * channels + c;
    const scale = chunk.scales[r];
    return Array.from(chunk.values.subarray(r * samples, (r + 1) * samples), (q) => q * scale);
  });
}

/** Re-quantises one int16 row (its `scale16` per step) to int8 into `out`; returns the new scale. */
export function requantiseRow(row: Int16Array, scale16: number, out: Int8Array): number {
  let max = 0;
  for (let i = 0; i < row.length; i++) max = Math.max(max, Math.abs(row[i]));
  if (max === 0) {
    out.fill(0);
    return 1;
  }
  for (let i = 0; i < row.length; i++) out[i] = Math.round((row[i] * EEG8_MAX) / max);
  return (scale16 * max) / EEG8_MAX;
}
