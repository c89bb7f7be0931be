/**
 * The one way in for recordings, shared by every CLI that reads trials (data, extract, features,
 * probe, train, demo): `--recordings` files or folders beside `--db_path`, with `--gdf` and
 * `--gdf_dir` as older spellings, and how trials are cut from them.
 */
import { join } from "node:path";
import { convertRecordings } from "../data/recording_lmdb.ts";
import { parseEventClasses, type RecordingSourceOptions } from "../data/recording_source.ts";
import { FlagError, type FlagSpec, type FlagValues, list, optStr } from "./flags.ts";

export const RECORDING_FLAGS: readonly FlagSpec[] = [
  {
    name: "recordings",
    type: "list",
    help: "recording files or folders, comma-separated or repeated (GDF 1.x/2.x, EDF/EDF+, BDF, " +
      "BNCI MAT; format told from the content), instead of --db_path",
  },
  { name: "gdf", type: "list", help: "same as --recordings" },
  { name: "gdf_dir", type: "list", help: "same as --recordings" },
  {
    name: "channels",
    type: "list",
    help: "recordings: one electrode name per file channel, - drops it (default: the labels the " +
      "position bank knows; BCIC2a's 22); LMDB: the stored channels' names",
  },
  {
    name: "events",
    type: "list",
    help:
      "recordings: CODE=CLASS event codes that start trials, e.g. 769=left_hand,770=right_hand " +
      "(default for BCIC2a: trial start 768, class from cues 769–772)",
  },
  {
    name: "window",
    type: "list",
    help: "recordings: trial window START,END in s after the event (BCIC2a: 2,6; else 0,4)",
  },
  {
    name: "label_file",
    type: "string",
    help: "BCIC2a evaluation labels (the competition's A01E.mat, or classes 1–4 one per line)",
  },
];

/** The recording paths given under any of the flag's spellings. */
export function recordingPaths(v: FlagValues): string[] {
  return [...list(v, "recordings"), ...list(v, "gdf"), ...list(v, "gdf_dir")];
}

/** How trials are cut from the recordings. */
export function recordingOptions(v: FlagValues): RecordingSourceOptions {
  const channels = list(v, "channels");
  const events = list(v, "events");
  const window = list(v, "window");
  const w = window.map(Number);
  if (window.length && (w.length !== 2 || w.some((x) => !Number.isFinite(x)))) {
    throw new FlagError(`--window expects two numbers "START,END", got "${window.join(",")}"`);
  }
  return {
    channels: channels.length ? channels : undefined,
    events: events.length ? parseEventClasses(events) : undefined,
    window: window.length ? [w[0], w[1]] : undefined,
    labelFile: optStr(v, "label_file"),
  };
}

/**
 * The LMDB a stage reads: `--db_path`, or the recordings converted into `<dir>/recordings.lmdb`
 * (stages that read LMDBs only); undefined when neither is given.
 */
export async function lmdbFromFlags(v: FlagValues, dir: string): Promise<string | undefined> {
  const paths = recordingPaths(v);
  const dbPath = optStr(v, "db_path");
  if (dbPath && paths.length) {
    throw new FlagError("give either --db_path or --recordings, not both");
  }
  if (!paths.length) return dbPath;
  const out = join(dir, "recordings.lmdb");
  const s = await convertRecordings(paths, out, recordingOptions(v), (l) => console.error(l));
  console.error(`  ${s.trials} trials from ${s.files.length} recordings at ${s.sfreq} Hz → ${out}`);
  return out;
}

/** As `lmdbFromFlags`, for stages that need trials. */
export async function requiredLmdb(v: FlagValues, dir: string): Promise<string> {
  const path = await lmdbFromFlags(v, dir);
  if (!path) throw new FlagError("give --db_path DIR (LMDB) or --recordings FILE|DIR");
  return path;
}
