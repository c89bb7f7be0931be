/**
 * Stages that read LMDBs only (features, probe, train) take recordings by converting them once
 * into `<dir>/recordings.lmdb`; the flags themselves are declared in flag_registry.ts.
 */
import { join } from "node:path";
import { convertRecordings } from "../data/recording_lmdb.ts";
import { recordingOptionsFrom } from "./flag_registry.ts";
import { FlagError, type FlagValues, list, optStr } from "./flags.ts";

/**
 * The LMDB a stage reads: `--db_path`, or the recordings converted into `<dir>/recordings.lmdb`;
 * undefined when neither is given.
 */
export async function lmdbFromFlags(v: FlagValues, dir: string): Promise<string | undefined> {
  const paths = list(v, "recordings");
  const dbPath = optStr(v, "db_path");
  if (dbPath && paths.length) {
    throw new FlagError("give either --db_path or --recordings, not both");
  }
  if (!paths.length) return dbPath;
  const out = join(dir, "recordings.lmdb");
  const s = await convertRecordings(paths, out, recordingOptionsFrom(v), (l) => console.error(l));
  console.error(`  ${s.trials} trials from ${s.files.length} recordings at ${s.sfreq} Hz → ${out}`);
  return out;
}

/** As `lmdbFromFlags`, for stages that need trials. */
export async function requiredLmdb(v: FlagValues, dir: string): Promise<string> {
  const path = await lmdbFromFlags(v, dir);
  if (!path) throw new FlagError("give --db_path DIR (LMDB) or --recordings FILE|DIR");
  return path;
}
