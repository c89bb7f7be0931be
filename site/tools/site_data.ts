/**
 * Writes the data files the site's pages draw from in the browser (site/src/lib/site_data.ts)
 * out of a run's `features/` folder, validating each file it reads: the per-feature detail files
 * (whatever the run's layout), the trial_acts chunks as they are, and the EEG re-quantised to int8
 * in the site's own smaller chunks.
 */
import { dirname, join } from "node:path";
import {
  decodeEegChunk,
  type EegChunk,
  type FeatureDetail,
  featureFilePath,
  type FeatureIndex,
  shapeOf,
  trialsInChunk,
  type TrialTable,
  validateFeatureChunk,
  validateFeatureDetail,
  validateTrialActsChunk,
  validateTrialTable,
} from "../../schema/run_folder.ts";
import {
  eeg8Bytes,
  requantiseRow,
  SITE_EEG_CHUNK,
  siteDataPaths,
  type SiteMeta,
} from "../src/lib/site_data.ts";
import { EegSaeError } from "../../compute/util/errors.ts";

export class SiteDataWriteError extends EegSaeError {}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new SiteDataWriteError(`${path}: cannot read (${(e as Error).message})`, { cause: e });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SiteDataWriteError(`${path}: not valid JSON (${(e as Error).message})`, {
      cause: e,
    });
  }
}

/** Reads and validates `features/trials.json`. */
export async function readTrialTable(run: string, index: FeatureIndex): Promise<TrialTable> {
  const path = join(run, "features", "trials.json");
  return validateTrialTable(await readJson(path), shapeOf(index), index.n_trials, path);
}

export interface SiteDataReport {
  meta: SiteMeta;
  /** Bytes written under `data/`. */
  bytes: number;
}

/** Writes `<outDir>/data/` for `run`; `positions` are the electrodes' xyz per channel. */
export async function writeSiteData(
  run: string,
  index: FeatureIndex,
  positions: number[][],
  outDir: string,
): Promise<SiteDataReport> {
  const fdir = join(run, "features");
  const shape = shapeOf(index);
  const paths = siteDataPaths(join(outDir, "/"));
  let bytes = 0;
  // The site is written into a fresh temporary folder (writeOutputFolder): plain writes suffice.
  const made = new Set<string>();
  const encoder = new TextEncoder();
  const write = async (path: string, data: Uint8Array | string) => {
    const dir = dirname(path);
    if (!made.has(dir)) {
      await Deno.mkdir(dir, { recursive: true });
      made.add(dir);
    }
    const raw = typeof data === "string" ? encoder.encode(data) : data;
    await Deno.writeFile(path, raw);
    bytes += raw.length;
  };

  const alive = index.features.filter((f) => f.alive).map((f) => f.id);
  const meta: SiteMeta = {
    d_sae: index.d_sae,
    channels: index.channels,
    class_names: index.class_names,
    bands: index.bands,
    positions,
    n_patches: index.n_patches,
    patch_size: index.patch_size,
    patch_step: index.patch_step,
    sfreq: index.sfreq,
    n_samples: index.n_samples,
    n_trials: index.n_trials,
    trial_acts: index.trial_store,
    eeg: { chunk_size: SITE_EEG_CHUNK, n_chunks: Math.ceil(index.n_trials / SITE_EEG_CHUNK) },
    alive,
  };
  await write(paths.meta, JSON.stringify(meta));

  // Feature details: one file per alive feature, so a page fetches only its own.
  const writeDetail = (d: FeatureDetail) => write(paths.feature(d.id), JSON.stringify(d));
  if (index.layout.kind === "per_feature") {
    for (const id of alive) {
      const path = join(fdir, featureFilePath(index.layout, id));
      await writeDetail(validateFeatureDetail(await readJson(path), shape, path));
    }
  } else {
    const size = index.layout.chunk_size;
    const chunks = [...new Set(alive.map((id) => Math.floor(id / size)))];
    for (const k of chunks) {
      const path = join(fdir, featureFilePath(index.layout, k * size));
      const chunk = validateFeatureChunk(await readJson(path), shape, path);
      const have = new Set(chunk.features.map((d) => d.id));
      const missing = alive.find((id) => Math.floor(id / size) === k && !have.has(id));
      if (missing !== undefined) {
        throw new SiteDataWriteError(`${path}: has no entry for alive feature ${missing}`);
      }
      for (const d of chunk.features) await writeDetail(d);
    }
  }

  // Trial activations: validated, then copied as they are.
  const store = index.trial_store;
  for (let k = 0; k < store.n_chunks; k++) {
    const path = join(fdir, "trial_acts", `${k}.json`);
    validateTrialActsChunk(await readJson(path), shape, store, index.n_trials, path);
    const raw = await Deno.readFile(path);
    await write(paths.trialActs(k), raw);
  }

  // EEG: int16 run chunks → int8 site chunks.
  const C = index.channels.length;
  const T = index.n_samples;
  let cached: { k: number; chunk: EegChunk } | undefined;
  const runChunk = async (k: number) => {
    if (cached?.k !== k) {
      const path = join(fdir, "eeg", `${k}.bin`);
      const n = trialsInChunk(store, index.n_trials, k);
      let raw: Uint8Array;
      try {
        raw = await Deno.readFile(path);
      } catch (e) {
        throw new SiteDataWriteError(`${path}: cannot read (${(e as Error).message})`, {
          cause: e,
        });
      }
      cached = { k, chunk: decodeEegChunk(raw, n, C, T, path) };
    }
    return cached.chunk;
  };
  for (let s = 0; s < meta.eeg.n_chunks; s++) {
    const n = trialsInChunk(meta.eeg, index.n_trials, s);
    const scales = new Float32Array(n * C);
    const values = new Int8Array(n * C * T);
    for (let j = 0; j < n; j++) {
      const i = s * SITE_EEG_CHUNK + j;
      const k = Math.floor(i / store.chunk_size);
      const src = await runChunk(k);
      const row0 = (i - k * store.chunk_size) * C;
      for (let c = 0; c < C; c++) {
        const r = row0 + c;
        scales[j * C + c] = requantiseRow(
          src.values.subarray(r * T, (r + 1) * T),
          src.scales[r],
          values.subarray((j * C + c) * T, (j * C + c + 1) * T),
        );
      }
    }
    await write(paths.eeg(s), eeg8Bytes({ n, channels: C, samples: T, scales, values }));
  }
  return { meta, bytes };
}
