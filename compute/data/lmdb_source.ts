/**
 * BCIC2a trials from an LMDB in the original pipeline's format: every value is
 * `pickle.dumps({"sample": ndarray, "label": int})`, keys are raw bytes like `A01T-3-0`, and an
 * optional `__keys__` entry holds the split (`{"train": [...], "val": [...], "test": [...]}`).
 *
 * Samples may be `[C,T]` (REVE's script) or `[C,p,P]` (CBraMod's 1-s patches), float32 or
 * float64; `[C,p,P]` is flattened to `[C,p·P]`. Every value is decoded and checked when the
 * source opens: a bad one is an error naming its key, or is skipped and listed when `skipBad`.
 * Sampling rate, channel names and unit scale come from options, else from a `dataset.json`
 * beside the database (our synthetic sets write one), else the BCIC2a defaults.
 */
import { open, type RootDatabase } from "lmdb";
import { join } from "node:path";
import type { NdArray } from "../io/npy.ts";
import { decodePickle, isNdArray, PickleError, type PickleValue } from "../io/pickle_decode.ts";
import { BCIC2A_CHANNELS } from "./montage.ts";
import { checkLmdbDataFile } from "./lmdb_header.ts";
import { type Split, SPLITS, type Trial, type TrialMeta, type TrialSource } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

/** Sampling rate both known BCIC2a LMDB pipelines store (REVE's [22,800], CBraMod's [22,4,200]). */
export const LMDB_DEFAULT_SFREQ = 200;
/** The split entry's key. */
export const KEYS_ENTRY = "__keys__";
/** Sidecar that describes the stored signals (written by the synthetic generator). */
export const DATASET_SIDECAR = "dataset.json";

export class LmdbSourceError extends EegSaeError {}

export interface LmdbSourceOptions {
  /** Hz of the stored samples. */
  sfreq?: number;
  channels?: readonly string[];
  /** Stored value × unitScale = microvolts. */
  unitScale?: number;
  /** Skip (and list) undecodable or malformed trials instead of failing. */
  skipBad?: boolean;
}

/** How samples are stored, as found in the first good trial. */
export interface LmdbLayout {
  /** `"[C,T]"` or `"[C,p,P]"` (flattened to `[C,p·P]` when read). */
  layout: "[C,T]" | "[C,p,P]";
  storedShape: number[];
  dtype: string;
  /** "int" for Python ints, "numpy int" for numpy scalars or 0-d arrays. */
  labelKind: string;
}

export interface SkippedTrial {
  key: string;
  reason: string;
}

/** The `dataset.json` sidecar. */
export interface DatasetSidecar {
  sfreq: number;
  channels: string[];
  unit_scale?: number;
  generator?: string;
}

export class LmdbSource implements TrialSource {
  readonly description: string;

  private constructor(
    readonly path: string,
    private readonly db: RootDatabase<Uint8Array, Uint8Array>,
    readonly channels: readonly string[],
    readonly sfreq: number,
    readonly samples: number,
    readonly unitScale: number,
    readonly trials: readonly TrialMeta[],
    readonly layout: LmdbLayout,
    readonly skipped: readonly SkippedTrial[],
    /** Where the splits came from. */
    readonly splitSource: "__keys__" | "subject" | "none",
  ) {
    this.description = `lmdb ${path}`;
  }

  static async open(path: string, options: LmdbSourceOptions = {}): Promise<LmdbSource> {
    const info = await Deno.stat(join(path, "data.mdb")).catch(() => null);
    if (!info?.isFile) {
      throw new LmdbSourceError(`${path}: not an LMDB database directory (no data.mdb inside)`);
    }
    try {
      await checkLmdbDataFile(join(path, "data.mdb"));
    } catch (e) {
      throw new LmdbSourceError((e as Error).message);
    }
    const sidecar = await readSidecar(path);
    const channels = options.channels ?? sidecar?.channels ?? BCIC2A_CHANNELS;
    const sfreq = options.sfreq ?? sidecar?.sfreq ?? LMDB_DEFAULT_SFREQ;
    const unitScale = options.unitScale ?? sidecar?.unit_scale ?? 1;
    if (!(sfreq > 0)) throw new LmdbSourceError(`${path}: sampling rate must be > 0, got ${sfreq}`);
    let db: RootDatabase<Uint8Array, Uint8Array>;
    try {
      db = open<Uint8Array, Uint8Array>({
        path,
        noSubdir: false, // a directory holding data.mdb, as py-lmdb writes it
        readOnly: true,
        encoding: "binary",
        keyEncoding: "binary",
      });
    } catch (e) {
      throw new LmdbSourceError(`${path}: cannot open LMDB: ${(e as Error).message}`);
    }
    try {
      return LmdbSource.#scan(path, db, channels, sfreq, unitScale, options.skipBad === true);
    } catch (e) {
      db.close();
      throw withPath(path, e);
    }
  }

  static #scan(
    path: string,
    db: RootDatabase<Uint8Array, Uint8Array>,
    channels: readonly string[],
    sfreq: number,
    unitScale: number,
    skipBad: boolean,
  ): LmdbSource {
    const keys: string[] = [];
    let splitEntry: Uint8Array | undefined;
    for (const raw of db.getKeys()) {
      const key = keyText(raw);
      if (key === KEYS_ENTRY) splitEntry = db.get(raw);
      else keys.push(key);
    }
    keys.sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
    if (keys.length === 0) throw new LmdbSourceError(`${path}: the database holds no trials`);

    const metas: TrialMeta[] = [];
    const skipped: SkippedTrial[] = [];
    const fail = (key: string, e: unknown) => {
      if (!(e instanceof LmdbSourceError || e instanceof PickleError)) throw e;
      const reason = e.message.replace(/^key "[^"]*": /, "");
      if (!skipBad) {
        throw new LmdbSourceError(
          `${path}: key "${key}": ${reason} (use --skip_bad to skip bad trials)`,
        );
      }
      skipped.push({ key, reason });
    };
    // Only what the checks need: holding every decoded signal would double the memory.
    const decodedTrials: { key: string; decoded: Omit<DecodedTrial, "eeg"> }[] = [];
    for (const key of keys) {
      try {
        const value = db.get(keyBytes(key));
        if (value === undefined) throw new LmdbSourceError("value vanished while reading");
        decodedTrials.push({
          key,
          decoded: decodeTrialValue(value, key, channels.length, unitScale),
        });
      } catch (e) {
        fail(key, e);
      }
    }
    // The normal trial length is that of most trials, so one odd trial, even the first, is the
    // one reported (or skipped), not all the others.
    const counts = new Map<number, number>();
    for (const t of decodedTrials) {
      counts.set(t.decoded.samples, (counts.get(t.decoded.samples) ?? 0) + 1);
    }
    let samples = 0;
    for (const [n, c] of counts) if (c > (counts.get(samples) ?? 0)) samples = n;
    let layout: LmdbLayout | undefined;
    for (const { key, decoded } of decodedTrials) {
      try {
        if (decoded.samples !== samples) {
          throw new LmdbSourceError(
            `sample has ${decoded.samples} time points, ${counts.get(samples)} of the ` +
              `${decodedTrials.length} trials have ${samples}`,
          );
        }
        layout ??= decoded.layout;
        const { subject, session } = parseKey(key);
        metas.push({ key, label: decoded.label, subject, session });
      } catch (e) {
        fail(key, e);
      }
    }
    if (!layout || metas.length === 0) {
      throw new LmdbSourceError(`${path}: no readable trials (${skipped.length} skipped)`);
    }
    if (skipped.length > 0) {
      // --skip_bad says what it left out, whichever command opened the database.
      const shown = skipped.slice(0, 10).map((t) => `  ${t.key}: ${t.reason}`);
      if (skipped.length > 10) shown.push(`  ... and ${skipped.length - 10} more`);
      console.error(
        `${path}: skipped ${skipped.length} of ${keys.length} trials (--skip_bad):\n` +
          shown.join("\n"),
      );
    }
    const splitSource = assignSplits(path, metas, splitEntry);
    return new LmdbSource(
      path,
      db,
      channels,
      sfreq,
      samples,
      unitScale,
      metas,
      layout,
      skipped,
      splitSource,
    );
  }

  read(index: number): Promise<Trial> {
    const meta = this.trials[index];
    if (!meta) {
      throw new LmdbSourceError(
        `${this.path}: trial index ${index} outside 0..${this.trials.length - 1}`,
      );
    }
    let value: Uint8Array | undefined;
    try {
      value = this.db.get(keyBytes(meta.key));
    } catch (e) {
      throw withPath(this.path, e);
    }
    if (value === undefined) throw new LmdbSourceError(`${this.path}: key "${meta.key}" vanished`);
    const { eeg } = decodeTrialValue(value, meta.key, this.channels.length, this.unitScale);
    return Promise.resolve({ ...meta, eeg });
  }

  close(): void {
    this.db.close();
  }
}

interface DecodedTrial {
  eeg: Float32Array;
  label: number;
  samples: number;
  layout: LmdbLayout;
}

/** One LMDB value → a checked `[C,T]` float32 trial in microvolts. */
export function decodeTrialValue(
  value: Uint8Array,
  key: string,
  channelCount: number,
  unitScale: number,
): DecodedTrial {
  const v = decodePickle(value, `key "${key}"`);
  if (!(v instanceof Map)) throw new LmdbSourceError(`value is a pickle but not a dict`);
  const sample = v.get("sample");
  if (!isNdArray(sample)) {
    throw new LmdbSourceError(`dict has no numpy array under "sample"`);
  }
  const { label, labelKind } = readLabel(v.get("label"));
  const shape = sample.shape;
  if (shape.length !== 2 && shape.length !== 3) {
    throw new LmdbSourceError(`sample has shape [${shape}], expected [C,T] or [C,p,P]`);
  }
  if (shape[0] !== channelCount) {
    throw new LmdbSourceError(
      `sample has ${shape[0]} channels (shape [${shape}]), expected ${channelCount}`,
    );
  }
  const eeg = toFloat32(sample, unitScale);
  const samples = eeg.length / channelCount;
  for (let i = 0; i < eeg.length; i++) {
    if (!Number.isFinite(eeg[i])) {
      throw new LmdbSourceError(
        `sample holds ${eeg[i]} at channel ${Math.floor(i / samples)}, time ${i % samples}`,
      );
    }
  }
  return {
    eeg,
    label,
    samples,
    layout: {
      layout: shape.length === 2 ? "[C,T]" : "[C,p,P]",
      storedShape: [...shape],
      dtype: sample.dtype,
      labelKind,
    },
  };
}

function readLabel(v: PickleValue | undefined): { label: number; labelKind: string } {
  let label: number | undefined;
  let labelKind = "int";
  if (typeof v === "number") label = v;
  else if (typeof v === "bigint") label = Number(v);
  else if (isNdArray(v) && v.shape.length === 0 && !Array.isArray(v.data)) {
    label = Number(v.data[0]);
    labelKind = "numpy 0-d array";
  }
  if (label === undefined || !Number.isInteger(label) || label < 0) {
    throw new LmdbSourceError(`"label" must be a non-negative integer, got ${describe(v)}`);
  }
  return { label, labelKind };
}

function describe(v: PickleValue | undefined): string {
  if (v === undefined) return "no label";
  if (isNdArray(v)) return `an array of shape [${v.shape}]`;
  return JSON.stringify(typeof v === "bigint" ? v.toString() : v) ?? String(v);
}

function toFloat32(a: NdArray, scale: number): Float32Array {
  const d = a.data;
  if (Array.isArray(d)) throw new LmdbSourceError(`sample has dtype ${a.dtype}, not numeric`);
  if (d instanceof Float32Array && scale === 1) return d;
  const out = new Float32Array(d.length);
  for (let i = 0; i < d.length; i++) out[i] = Number(d[i]) * scale;
  return out;
}

/** Subject and session from `A01T-...` style keys (BCIC2a file names); 0 and "" otherwise. */
export function parseKey(key: string): { subject: number; session: string } {
  const m = /^A(\d{2})([TE])/.exec(key);
  return m ? { subject: Number(m[1]), session: m[2] } : { subject: 0, session: "" };
}

/** CBraMod's subject split, used when the database has no `__keys__`. */
export function splitForSubject(subject: number): Split | undefined {
  if (subject >= 1 && subject <= 5) return "train";
  if (subject === 6 || subject === 7) return "val";
  if (subject === 8 || subject === 9) return "test";
  return undefined;
}

function assignSplits(
  path: string,
  metas: TrialMeta[],
  entry: Uint8Array | undefined,
): "__keys__" | "subject" | "none" {
  if (entry === undefined) {
    for (const m of metas) m.split = splitForSubject(m.subject);
    return metas.some((m) => m.split) ? "subject" : "none";
  }
  let v: PickleValue;
  try {
    v = decodePickle(entry, `key "${KEYS_ENTRY}"`);
  } catch (e) {
    throw new LmdbSourceError(`${path}: ${(e as Error).message}`);
  }
  if (!(v instanceof Map)) {
    throw new LmdbSourceError(`${path}: key "${KEYS_ENTRY}" is not a dict of split → keys`);
  }
  const byKey = new Map(metas.map((m) => [m.key, m]));
  for (const [name, list] of v) {
    if (typeof name !== "string" || !(SPLITS as readonly string[]).includes(name)) {
      throw new LmdbSourceError(
        `${path}: key "${KEYS_ENTRY}" has split ${JSON.stringify(name)}; expected ${SPLITS}`,
      );
    }
    if (!Array.isArray(list)) {
      throw new LmdbSourceError(`${path}: key "${KEYS_ENTRY}" split "${name}" is not a list`);
    }
    for (const k of list) {
      const key = typeof k === "string" ? k : k instanceof Uint8Array ? keyText(k) : undefined;
      if (key === undefined) {
        throw new LmdbSourceError(`${path}: key "${KEYS_ENTRY}" split "${name}" holds a non-key`);
      }
      // A listed key may belong to a skipped trial: it simply gets no split.
      const meta = byKey.get(key);
      if (meta) meta.split = name as Split;
    }
  }
  return "__keys__";
}

async function readSidecar(path: string): Promise<DatasetSidecar | undefined> {
  const file = join(path, DATASET_SIDECAR);
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch {
    return undefined;
  }
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new LmdbSourceError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    throw new LmdbSourceError(`${file}: expected an object {"sfreq": ..., "channels": [...]}`);
  }
  const field = (name: string, want: string) =>
    new LmdbSourceError(`${file}: field "${name}" must be ${want}, got ${JSON.stringify(v[name])}`);
  if (typeof v.sfreq !== "number" || !(v.sfreq > 0)) throw field("sfreq", "a number > 0");
  if (
    !Array.isArray(v.channels) || v.channels.length === 0 ||
    v.channels.some((c) => typeof c !== "string")
  ) throw field("channels", "a non-empty list of channel names");
  if (
    v.unit_scale !== undefined &&
    (typeof v.unit_scale !== "number" || !Number.isFinite(v.unit_scale) || v.unit_scale === 0)
  ) throw field("unit_scale", "a finite non-zero number");
  if (v.generator !== undefined && typeof v.generator !== "string") {
    throw field("generator", "a string");
  }
  return {
    sfreq: v.sfreq,
    channels: v.channels as string[],
    unit_scale: v.unit_scale as number | undefined,
    generator: v.generator as string | undefined,
  };
}

/** A database error (e.g. MDB_PAGE_NOTFOUND on a corrupted page) with the database's path. */
function withPath(path: string, e: unknown): Error {
  if (e instanceof LmdbSourceError) return e;
  return new LmdbSourceError(`${path}: cannot read the LMDB: ${(e as Error).message ?? e}`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export function keyBytes(key: string): Uint8Array {
  return encoder.encode(key);
}

function keyText(raw: Uint8Array): string {
  try {
    return decoder.decode(raw);
  } catch {
    throw new LmdbSourceError(`key ${[...raw].map((b) => b.toString(16)).join(" ")} is not UTF-8`);
  }
}
