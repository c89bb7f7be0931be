/**
 * BCIC2a trials from the competition's GDF 2.x files.
 *
 * GDF 2.x layout: a 256-byte fixed header (version, number of records, record duration, number of
 * channels), a variable header of 256 bytes per channel stored field by field (labels, physical
 * dimension code, physical and digital min/max, samples per record, sample type), the data
 * records (each record holds every channel's samples in turn), then the event table (mode,
 * count, rate, 1-based positions, types and, in mode 3, channels and durations).
 *
 * Trials start at event 768; the class is the cue (769–772 → labels 0–3) and the evaluation
 * session's unknown cue (783) takes its label from a separate label file (one class 1–4 per line,
 * in trial order). Event 1023 marks a trial rejected by the organisers: it is flagged, not dropped.
 * The window is cut relative to the trial start (2–6 s by default, as in the literature), and
 * values are scaled from digital to physical units and converted to microvolts.
 */
import { basename } from "node:path";
import { MatError, readMat } from "../io/mat.ts";
import { BCIC2A_CHANNELS } from "./montage.ts";
import type { Trial, TrialMeta, TrialSource } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

export class GdfError extends EegSaeError {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
  }
}

export const EVENT_TRIAL_START = 768;
export const EVENT_CUES = [769, 770, 771, 772];
export const EVENT_UNKNOWN_CUE = 783;
export const EVENT_REJECTED = 1023;

export interface GdfChannel {
  label: string;
  physicalDimension: string;
  physicalDimensionCode: number;
  physicalMin: number;
  physicalMax: number;
  digitalMin: number;
  digitalMax: number;
  samplesPerRecord: number;
  type: number;
}

export interface GdfEvent {
  /** 0-based sample index (GDF stores 1-based positions). */
  position: number;
  type: number;
  channel: number;
  duration: number;
}

export interface GdfRecording {
  file: string;
  version: string;
  sfreq: number;
  channels: GdfChannel[];
  /** `[channels, samples]` in microvolts. */
  signals: Float32Array;
  samples: number;
  events: GdfEvent[];
}

const TYPE_SIZES: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 16: 4, 17: 8 };

/** Factor from a GDF physical dimension (code, else text) to microvolts. */
function toMicrovolts(code: number, text: string): number | undefined {
  // ISO/IEEE 11073 codes: volt is 4256, the low 5 bits are the decimal prefix.
  if (code >> 5 === 4256 >> 5) {
    const prefix: Record<number, number> = { 0: 1e6, 18: 1e3, 19: 1, 20: 1e-3 };
    return prefix[code & 31];
  }
  const t = text.trim().replace("\u00b5", "u");
  return ({ V: 1e6, mV: 1e3, uV: 1, nV: 1e-3 } as Record<string, number>)[t];
}

function ascii(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  return s.trim();
}

/** Parses a whole GDF 2.x file. */
export function parseGdf(bytes: Uint8Array, file: string): GdfRecording {
  const fail = (m: string) => new GdfError(file, m);
  if (bytes.length < 256) throw fail(`truncated: ${bytes.length} bytes, a GDF header needs 256`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = ascii(bytes.subarray(0, 8));
  if (!version.startsWith("GDF 2.")) {
    throw fail(`version "${version}" is not GDF 2.x (GDF 1.x and other formats are not read)`);
  }
  const headerBlocks = view.getUint16(184, true);
  const records = Number(view.getBigInt64(236, true));
  const durNum = view.getUint32(244, true);
  const durDen = view.getUint32(248, true);
  const ns = view.getUint16(252, true);
  if (ns === 0) throw fail("header declares no channels");
  if (records < 0) throw fail("number of data records is unknown (-1); the file was not closed");
  if (durNum === 0 || durDen === 0) throw fail(`record duration ${durNum}/${durDen} s is invalid`);
  const headerBytes = headerBlocks * 256;
  if (headerBytes < 256 * (ns + 1)) {
    throw fail(`header length ${headerBytes} bytes is less than 256·(1 + ${ns} channels)`);
  }
  if (bytes.length < headerBytes) {
    throw fail(`truncated: header needs ${headerBytes} bytes, file has ${bytes.length}`);
  }
  // Variable header: each field for all channels, then the next field.
  let off = 256;
  const field = (size: number) => {
    const at = off;
    off += size * ns;
    return (ch: number) => at + ch * size;
  };
  const fLabel = field(16), _fTransducer = field(80), fDim = field(6), fDimCode = field(2);
  const fPhysMin = field(8), fPhysMax = field(8), fDigMin = field(8), fDigMax = field(8);
  const _fReserved = field(68), _fLow = field(4), _fHigh = field(4), _fNotch = field(4);
  const fSpr = field(4), fType = field(4);
  const channels: GdfChannel[] = [];
  for (let c = 0; c < ns; c++) {
    const ch: GdfChannel = {
      label: ascii(bytes.subarray(fLabel(c), fLabel(c) + 16)),
      physicalDimension: ascii(bytes.subarray(fDim(c), fDim(c) + 6)),
      physicalDimensionCode: view.getUint16(fDimCode(c), true),
      physicalMin: view.getFloat64(fPhysMin(c), true),
      physicalMax: view.getFloat64(fPhysMax(c), true),
      digitalMin: view.getFloat64(fDigMin(c), true),
      digitalMax: view.getFloat64(fDigMax(c), true),
      samplesPerRecord: view.getUint32(fSpr(c), true),
      type: view.getUint32(fType(c), true),
    };
    if (!TYPE_SIZES[ch.type]) {
      throw fail(
        `channel ${c} "${ch.label}" has sample type ${ch.type}, not one of ` +
          `${Object.keys(TYPE_SIZES)} (int8..uint32, float32, float64)`,
      );
    }
    if (!(ch.digitalMax > ch.digitalMin)) {
      throw fail(`channel ${c} "${ch.label}": digital max ${ch.digitalMax} ≤ min ${ch.digitalMin}`);
    }
    channels.push(ch);
  }
  const spr = channels[0].samplesPerRecord;
  if (spr === 0 || channels.some((c) => c.samplesPerRecord !== spr)) {
    throw fail(
      `channels have different samples per record (${channels.map((c) => c.samplesPerRecord)})`,
    );
  }
  const recordBytes = channels.reduce((s, c) => s + c.samplesPerRecord * TYPE_SIZES[c.type], 0);
  const dataEnd = headerBytes + records * recordBytes;
  if (bytes.length < dataEnd) {
    throw fail(
      `truncated: ${records} records of ${recordBytes} bytes need ${dataEnd} bytes, file has ` +
        `${bytes.length}`,
    );
  }
  const samples = records * spr;
  const signals = new Float32Array(ns * samples);
  let pos = headerBytes;
  for (let r = 0; r < records; r++) {
    for (let c = 0; c < ns; c++) {
      const ch = channels[c];
      const gain = (ch.physicalMax - ch.physicalMin) / (ch.digitalMax - ch.digitalMin);
      const toUv = toMicrovolts(ch.physicalDimensionCode, ch.physicalDimension);
      if (toUv === undefined) {
        throw fail(
          `channel "${ch.label}" has unit "${ch.physicalDimension}" ` +
            `(code ${ch.physicalDimensionCode}), not a voltage`,
        );
      }
      const size = TYPE_SIZES[ch.type];
      const row = c * samples + r * spr;
      for (let s = 0; s < spr; s++, pos += size) {
        const dig = readSample(view, pos, ch.type);
        signals[row + s] = (ch.physicalMin + (dig - ch.digitalMin) * gain) * toUv;
      }
    }
  }
  const events = parseEvents(view, dataEnd, file);
  return { file, version, sfreq: (spr * durDen) / durNum, channels, signals, samples, events };
}

function readSample(view: DataView, at: number, type: number): number {
  switch (type) {
    case 1:
      return view.getInt8(at);
    case 2:
      return view.getUint8(at);
    case 3:
      return view.getInt16(at, true);
    case 4:
      return view.getUint16(at, true);
    case 5:
      return view.getInt32(at, true);
    case 6:
      return view.getUint32(at, true);
    case 16:
      return view.getFloat32(at, true);
    default:
      return view.getFloat64(at, true);
  }
}

function parseEvents(view: DataView, at: number, file: string): GdfEvent[] {
  if (view.byteLength < at + 8) {
    throw new GdfError(file, `truncated: no event table after the data (at byte ${at})`);
  }
  const mode = view.getUint8(at);
  if (mode !== 1 && mode !== 3) throw new GdfError(file, `event table mode ${mode} is not 1 or 3`);
  const n = view.getUint8(at + 1) | (view.getUint8(at + 2) << 8) | (view.getUint8(at + 3) << 16);
  const need = at + 8 + n * (mode === 3 ? 12 : 6);
  if (view.byteLength < need) {
    throw new GdfError(
      file,
      `truncated: the event table of ${n} events needs ${need} bytes, file has ${view.byteLength}`,
    );
  }
  const posAt = at + 8, typAt = posAt + 4 * n, chnAt = typAt + 2 * n, durAt = chnAt + 2 * n;
  const events: GdfEvent[] = [];
  for (let i = 0; i < n; i++) {
    events.push({
      position: view.getUint32(posAt + 4 * i, true) - 1,
      type: view.getUint16(typAt + 2 * i, true),
      channel: mode === 3 ? view.getUint16(chnAt + 2 * i, true) : 0,
      duration: mode === 3 ? view.getUint32(durAt + 4 * i, true) : 0,
    });
  }
  return events;
}

export interface GdfSourceOptions {
  /** Window start and end in seconds after the trial-start event (768). */
  window?: [number, number];
  /**
   * Evaluation-session labels (classes 1–4, one per trial): the competition's `A01E.mat` (its
   * `classlabel` variable, or the file's only numeric one), or a text file of numbers.
   */
  labelFile?: string;
  /** EEG channel names in file order; BCIC2a's 22 by default (its files say "EEG-0", ...). */
  channels?: readonly string[];
}

export const GDF_DEFAULT_WINDOW: [number, number] = [2, 6];

export class GdfSource implements TrialSource {
  readonly description: string;
  private constructor(
    readonly file: string,
    readonly recording: GdfRecording,
    readonly channels: readonly string[],
    private readonly eegRows: number[],
    readonly samples: number,
    private readonly starts: number[],
    readonly trials: readonly TrialMeta[],
  ) {
    this.description = `gdf ${file}`;
  }

  get sfreq(): number {
    return this.recording.sfreq;
  }

  static async open(file: string, options: GdfSourceOptions = {}): Promise<GdfSource> {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (e) {
      throw new GdfError(file, `cannot read: ${(e as Error).message}`);
    }
    const rec = parseGdf(bytes, file);
    const names = options.channels ?? BCIC2A_CHANNELS;
    // EEG channels are those not labelled EOG; they must be as many as the names given.
    const eegRows = rec.channels.flatMap((c, i) => /^EOG/i.test(c.label) ? [] : [i]);
    if (eegRows.length !== names.length) {
      throw new GdfError(
        file,
        `${eegRows.length} EEG channels (${eegRows.map((i) => rec.channels[i].label)}), ` +
          `expected ${names.length} (${names.join(", ")})`,
      );
    }
    const [t0, t1] = options.window ?? GDF_DEFAULT_WINDOW;
    if (!(t1 > t0)) throw new GdfError(file, `trial window ${t0}–${t1} s is empty`);
    const offset = Math.round(t0 * rec.sfreq);
    const samples = Math.round((t1 - t0) * rec.sfreq);
    const trialStarts = rec.events.filter((e) => e.type === EVENT_TRIAL_START).map((e) =>
      e.position
    )
      .sort((a, b) => a - b);
    if (trialStarts.length === 0) throw new GdfError(file, "no trial-start events (768)");
    const fileLabels = options.labelFile ? await readLabelFile(options.labelFile) : undefined;
    if (fileLabels && fileLabels.length !== trialStarts.length) {
      throw new GdfError(
        file,
        `label file ${options.labelFile} has ${fileLabels.length} labels for ` +
          `${trialStarts.length} trials`,
      );
    }
    const m = /A(\d{2})([TE])/.exec(basename(file));
    const subject = m ? Number(m[1]) : 0;
    const session = m ? m[2] : "";
    const stem = basename(file).replace(/\.gdf$/i, "");
    const trials: TrialMeta[] = [];
    const starts: number[] = [];
    trialStarts.forEach((start, i) => {
      const end = trialStarts[i + 1] ?? Infinity;
      const inTrial = rec.events.filter((e) => e.position >= start && e.position < end);
      const cue = inTrial.find((e) => EVENT_CUES.includes(e.type) || e.type === EVENT_UNKNOWN_CUE);
      let label = -1;
      if (fileLabels) label = fileLabels[i];
      else if (cue && cue.type !== EVENT_UNKNOWN_CUE) label = cue.type - EVENT_CUES[0];
      const first = start + offset;
      if (first < 0 || first + samples > rec.samples) {
        throw new GdfError(
          file,
          `trial ${i} (start at sample ${start}) window ${t0}–${t1} s runs past the recording ` +
            `(${rec.samples} samples)`,
        );
      }
      starts.push(first);
      trials.push({
        key: `${stem}-${i}`,
        label,
        subject,
        session,
        rejected: inTrial.some((e) => e.type === EVENT_REJECTED),
      });
    });
    return new GdfSource(file, rec, [...names], eegRows, samples, starts, trials);
  }

  read(index: number): Promise<Trial> {
    const meta = this.trials[index];
    if (!meta) {
      throw new GdfError(this.file, `trial index ${index} outside 0..${this.trials.length - 1}`);
    }
    const C = this.channels.length, T = this.samples, N = this.recording.samples;
    const eeg = new Float32Array(C * T);
    const first = this.starts[index];
    this.eegRows.forEach((row, c) => {
      eeg.set(this.recording.signals.subarray(row * N + first, row * N + first + T), c * T);
    });
    return Promise.resolve({ ...meta, eeg });
  }

  close(): void {}
}

/** Class labels 1–4 (whitespace or newline separated) → 0–3. */
async function readLabelFile(path: string): Promise<number[]> {
  let values: string[];
  try {
    values = /\.mat$/i.test(path)
      ? (await matLabels(path)).map(String)
      : (await Deno.readTextFile(path)).split(/[\s,]+/).filter((s) => s !== "");
  } catch (e) {
    if (e instanceof GdfError || e instanceof MatError) throw e;
    throw new GdfError(path, `cannot read label file: ${(e as Error).message}`);
  }
  return values.map((s, i) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1 || v > 4) {
      throw new GdfError(path, `label ${i} is "${s}", expected a class 1–4`);
    }
    return v - 1;
  });
}

/** The labels of a MAT-file: `classlabel`, or its only numeric variable. */
async function matLabels(path: string): Promise<number[]> {
  const mat = await readMat(path);
  const numeric = [...mat.arrays.values()];
  const found = mat.arrays.get("classlabel") ?? (numeric.length === 1 ? numeric[0] : undefined);
  if (!found) {
    const names = [...mat.arrays.keys(), ...mat.skipped.keys()];
    throw new GdfError(
      path,
      `no "classlabel" variable (variables: ${names.join(", ") || "none"}); expected the ` +
        "competition's labels, classes 1–4",
    );
  }
  return [...found.data];
}
