/**
 * Writes trials into an LMDB in the original pipeline's format (each value
 * `pickle.dumps({"sample": ndarray float32 [C,T], "label": int})`, raw byte keys, an optional
 * `__keys__` split entry), readable by Python's py-lmdb and pickle and by `LmdbSource`.
 */
import { open, type RootDatabase } from "lmdb";
import { encodePickle } from "../io/pickle_encode.ts";
import { keyBytes, KEYS_ENTRY } from "./lmdb_source.ts";
import type { Split } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

export class LmdbWriteError extends EegSaeError {}

export interface LmdbTrialRecord {
  key: string;
  label: number;
  /** `[channels, samples]` row-major float32. */
  eeg: Float32Array;
}

export interface LmdbWriteSummary {
  trials: number;
  bytes: number;
}

/**
 * Writes `trials` (any iterable: a generator streams them) in transactions of `batch` trials.
 * The database directory must not hold an LMDB already: we never mix two datasets.
 */
export async function writeTrialLmdb(
  path: string,
  trials: Iterable<LmdbTrialRecord>,
  options: {
    channels: number;
    samples: number;
    expectedTrials: number;
    splits?: Record<Split, string[]>;
    batch?: number;
  },
): Promise<LmdbWriteSummary> {
  const exists = await Deno.stat(`${path}/data.mdb`).then(() => true, () => false);
  if (exists) throw new LmdbWriteError(`${path}: an LMDB already exists there; remove it first`);
  await Deno.mkdir(path, { recursive: true });
  const perTrial = options.channels * options.samples * 4 + 512;
  // Room for every value plus B-tree pages and the split entry; the file only grows as used.
  const mapSize = Math.ceil((options.expectedTrials * perTrial * 1.3 + (64 << 20)) / 4096) * 4096;
  const db: RootDatabase<Uint8Array, Uint8Array> = open<Uint8Array, Uint8Array>({
    path,
    // py-lmdb's layout: a directory holding data.mdb, even when its name has an extension
    // (lmdb-js would otherwise treat `bcic2a.lmdb` as a single file).
    noSubdir: false,
    compression: false,
    encoding: "binary",
    keyEncoding: "binary",
    mapSize,
  });
  const batch = options.batch ?? 256;
  let pending: [Uint8Array, Uint8Array][] = [];
  let count = 0;
  let bytes = 0;
  const flush = () => {
    const items = pending;
    pending = [];
    db.transactionSync(() => {
      for (const [k, v] of items) db.putSync(k, v);
    });
  };
  try {
    for (const t of trials) {
      if (t.eeg.length !== options.channels * options.samples) {
        throw new LmdbWriteError(
          `${path}: trial "${t.key}" has ${t.eeg.length} values, expected ` +
            `${options.channels}×${options.samples}`,
        );
      }
      const value = encodePickle({
        sample: { dtype: "f4", shape: [options.channels, options.samples], data: t.eeg },
        label: t.label,
      });
      pending.push([keyBytes(t.key), value]);
      bytes += value.length;
      count++;
      if (pending.length >= batch) flush();
    }
    if (options.splits) {
      pending.push([keyBytes(KEYS_ENTRY), encodePickle(options.splits)]);
    }
    flush();
  } finally {
    await db.close();
  }
  return { trials: count, bytes };
}
