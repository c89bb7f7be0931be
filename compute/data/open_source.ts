/** Opens the trial source a command names: an LMDB directory, or recordings (files or folders). */
import { LmdbSource } from "./lmdb_source.ts";
import { openRecordings } from "./recording_files.ts";
import type { EventClass } from "./recording_source.ts";
import type { TrialSource } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

export class SourceSelectionError extends EegSaeError {}

export interface SourceSpec {
  dbPath?: string;
  /** Recording files or folders (GDF, EDF/EDF+, BDF, BNCI MAT), format told from the content. */
  recordings?: string[];
  /** LMDB: stored sampling rate (else dataset.json, else 200 Hz). */
  sfreq?: number;
  /** LMDB: channel names; recordings: one per file channel, `-` drops one. */
  channels?: readonly string[];
  /** LMDB: stored value × unitScale = µV. */
  unitScale?: number;
  skipBad?: boolean;
  /** Recordings: BCIC2a evaluation-session label file. */
  labelFile?: string;
  /** Recordings: window in seconds after the trial's event. */
  window?: [number, number];
  /** Recordings: event codes that start trials, with their classes. */
  events?: readonly EventClass[];
}

/** The paths a source reads, by flag: what an output folder must not contain. */
export function sourceInputs(spec: SourceSpec): Record<string, string | undefined> {
  const recordings = spec.recordings ?? [];
  return {
    db_path: spec.dbPath,
    ...Object.fromEntries(
      recordings.map((r, i) => [i ? `recordings (${i + 1})` : "recordings", r]),
    ),
  };
}

export function openTrialSource(spec: SourceSpec): Promise<TrialSource> {
  const recordings = spec.recordings ?? [];
  if (spec.dbPath && recordings.length) {
    throw new SourceSelectionError("give either --db_path or --recordings, not both");
  }
  if (spec.dbPath) {
    return LmdbSource.open(spec.dbPath, {
      sfreq: spec.sfreq,
      channels: spec.channels,
      unitScale: spec.unitScale,
      skipBad: spec.skipBad,
    });
  }
  if (recordings.length) {
    return openRecordings(recordings, {
      labelFile: spec.labelFile,
      window: spec.window,
      channels: spec.channels,
      events: spec.events,
    });
  }
  throw new SourceSelectionError("give --db_path DIR (LMDB) or --recordings FILE|DIR ...");
}
