/**
 * A continuous recording as every reader returns it (GDF, EDF/EDF+/BDF, BNCI MAT): channels at one
 * sampling rate, signals in physical units (µV for voltage channels), and events at sample
 * positions. `recording_source.ts` cuts trials out of it.
 */
import { EegSaeError } from "../util/errors.ts";

export class RecordingError extends EegSaeError {
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`${file}: ${message}`, options);
  }
}

export interface RecordingChannel {
  label: string;
  /** Physical unit as the file writes it ("uV", "mV", "V", "Boolean", ...). */
  unit: string;
  /** True when the values are a voltage, converted to µV. */
  voltage: boolean;
}

export interface RecordingEvent {
  /** 0-based sample index. */
  position: number;
  /** The event's code as text: the GDF type ("769"), an EDF+ annotation, a status value. */
  code: string;
  /** Samples; 0 when the file does not say. */
  duration: number;
  /** 1-based channel the event belongs to, 0 for all. */
  channel: number;
}

export interface Recording {
  file: string;
  /** "GDF", "EDF", "EDF+", "BDF", "BDF+" or "MAT (BNCI)". */
  format: string;
  /** The format's version as the file states it ("1.25", "2.51", "EDF+C", "v5", ...). */
  version: string;
  sfreq: number;
  channels: RecordingChannel[];
  /** `[channels, samples]`, µV for voltage channels, physical units otherwise. */
  signals: Float32Array;
  samples: number;
  events: RecordingEvent[];
  /** First sample of each run or segment (EDF+D segments, BNCI runs); `[0]` when continuous. */
  segments: number[];
  /** Channels the reader left out (annotation channels), with the reason. */
  omitted: { label: string; reason: string }[];
}

/** Factor from a physical unit (IEEE 11073 code when non-zero, else its text) to microvolts. */
export function microvoltFactor(text: string, code = 0): number | undefined {
  // IEEE 11073-10101: volt is 4256; the low 5 bits are the decimal prefix.
  if (code !== 0) {
    if (code >> 5 !== 4256 >> 5) return undefined;
    return ({ 0: 1e6, 18: 1e3, 19: 1, 20: 1e-3 } as Record<number, number>)[code & 31];
  }
  const t = text.trim().replace("\u00b5", "u").replace("\u03bc", "u");
  return ({ V: 1e6, mV: 1e3, uV: 1, nV: 1e-3 } as Record<string, number>)[t];
}

/** Latin-1 text up to the first NUL, trimmed. */
export function asciiField(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) {
    if (b === 0) break;
    s += String.fromCharCode(b);
  }
  return s.trim();
}

/** The sampling rate `samples / seconds`, snapped to a whole number when the field's rounding explains the difference (EDF keeps 8 characters of duration). */
export function snapRate(samples: number, seconds: number): number {
  const rate = samples / seconds;
  const whole = Math.round(rate);
  return Math.abs(rate - whole) / rate < 1e-4 ? whole : rate;
}

/**
 * The samples per record that the channels at `rows` share; one file at several rates is refused
 * with each channel's rate, since the pipeline reads one rate per recording.
 */
export function sharedSamplesPerRecord(
  channels: readonly { label: string; samplesPerRecord: number }[],
  rows: readonly number[],
  recordSeconds: number,
  noun: string,
  fail: (message: string) => Error,
): number {
  const spr = channels[rows[0]].samplesPerRecord;
  if (rows.some((c) => channels[c].samplesPerRecord !== spr)) {
    const rates = rows.map((c) =>
      `${channels[c].label} ${snapRate(channels[c].samplesPerRecord, recordSeconds)} Hz`
    );
    throw fail(
      `${noun} have different sampling rates (${rates.join(", ")}); resample the file to one ` +
        "rate first",
    );
  }
  return spr;
}
