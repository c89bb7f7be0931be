/** Opens the trial source a command names: an LMDB directory or a GDF file (exactly one). */
import { GdfSource } from "./gdf_source.ts";
import { LmdbSource } from "./lmdb_source.ts";
import type { TrialSource } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

export class SourceSelectionError extends EegSaeError {}

export interface SourceSpec {
  dbPath?: string;
  gdf?: string;
  /** LMDB: stored sampling rate (else dataset.json, else 200 Hz). */
  sfreq?: number;
  channels?: string[];
  /** LMDB: stored value × unitScale = µV. */
  unitScale?: number;
  skipBad?: boolean;
  /** GDF: evaluation-session label file. */
  labelFile?: string;
  /** GDF: window in seconds after the trial start. */
  window?: [number, number];
}

export function openTrialSource(spec: SourceSpec): Promise<TrialSource> {
  if (spec.dbPath && spec.gdf) {
    throw new SourceSelectionError("give either --db_path or --gdf, not both");
  }
  if (spec.dbPath) {
    return LmdbSource.open(spec.dbPath, {
      sfreq: spec.sfreq,
      channels: spec.channels,
      unitScale: spec.unitScale,
      skipBad: spec.skipBad,
    });
  }
  if (spec.gdf) {
    return GdfSource.open(spec.gdf, {
      labelFile: spec.labelFile,
      window: spec.window,
      channels: spec.channels,
    });
  }
  throw new SourceSelectionError("give --db_path DIR (LMDB) or --gdf FILE");
}
