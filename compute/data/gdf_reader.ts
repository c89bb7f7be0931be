/**
 * GDF 1.x and 2.x as BioSig (the reference implementation) writes them.
 *
 * Fixed header (256 bytes): version text ("GDF 1.25", "GDF 2.51"), the header length (1.x: int64
 * bytes, uint32 before 1.92; 2.x: uint16 count of 256-byte blocks, which may include a
 * tag-length-value header 3), the number of records (int64), the record duration (uint32
 * numerator/denominator up to 2.20, float64 seconds after) and the channel count (1.x: uint32,
 * 2.x: uint16). Variable header: 256 bytes per channel, stored field by field; 1.x has an 8-byte
 * unit text and int64 digital limits, 2.x a 6-byte text plus an IEEE 11073 unit code and float64
 * limits. Data records hold each channel's samples in turn, of its own type (GDFTYP: 1–8 the
 * integers, 16/17/18 float32/64/128, 255+n and 511+n n-bit signed and unsigned). The event table
 * follows the data: mode (1: position and type, 3: also channel and duration), the count and the
 * event rate (1.x: 24-bit rate then uint32 count; 2.x: 24-bit count then float32 rate), then
 * 1-based uint32 positions, uint16 types, and in mode 3 uint16 channels and uint32 durations.
 */
import {
  asciiField,
  microvoltFactor,
  type Recording,
  type RecordingChannel,
  RecordingError,
  type RecordingEvent,
  sharedSamplesPerRecord,
  snapRate,
} from "./recording.ts";

/** Event type BioSig uses for sparse samples: a value, not a marker. */
const SPARSE_SAMPLE = 0x7fff;

interface GdfChannelHeader {
  label: string;
  unit: string;
  unitCode: number;
  physicalMin: number;
  physicalMax: number;
  digitalMin: number;
  digitalMax: number;
  samplesPerRecord: number;
  type: number;
}

/** Bits per sample of a GDFTYP, or undefined when the type does not exist. */
export function gdfTypeBits(type: number): number | undefined {
  const fixed: Record<number, number> = {
    1: 8,
    2: 8,
    3: 16,
    4: 16,
    5: 32,
    6: 32,
    7: 64,
    8: 64,
    16: 32,
    17: 64,
    18: 128,
  };
  if (fixed[type]) return fixed[type];
  if (type > 255 && type <= 255 + 64) return type - 255;
  if (type > 511 && type <= 511 + 64) return type - 511;
  return undefined;
}

/** Parses a whole GDF file (any 1.x or 2.x version). */
export function parseGdf(bytes: Uint8Array, file: string): Recording {
  const fail = (m: string) => new RecordingError(file, m);
  if (bytes.length < 256) throw fail(`truncated: ${bytes.length} bytes, a GDF header needs 256`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const versionText = asciiField(bytes.subarray(0, 8));
  const m = /^GDF\s*(\d+\.\d+)$/.exec(versionText);
  if (!m) throw fail(`version field "${versionText}" is not "GDF x.yy": not a GDF file`);
  const version = Number(m[1]);
  const v2 = version >= 1.92;
  const headerBytes = version < 1.92
    ? (version < 1.0 ? Number(asciiField(bytes.subarray(184, 192))) : view.getUint32(184, true))
    : view.getUint16(184, true) * 256;
  const records = Number(view.getBigInt64(236, true));
  const duration = version > 2.20
    ? view.getFloat64(244, true)
    : view.getUint32(244, true) / view.getUint32(248, true);
  const ns = v2 ? view.getUint16(252, true) : view.getUint32(252, true);
  if (ns === 0) throw fail("header field NS (number of channels) is 0");
  if (records < 0) {
    throw fail("header field NRec (number of records) is -1: the recording was not closed");
  }
  if (!(duration > 0) || !Number.isFinite(duration)) {
    throw fail(`header field Dur (record duration) is ${duration} s, expected a positive number`);
  }
  if (!(headerBytes >= 256 * (ns + 1))) {
    throw fail(`header field HeadLen is ${headerBytes} bytes, less than 256·(1 + ${ns} channels)`);
  }
  if (bytes.length < headerBytes) {
    throw fail(`truncated: header needs ${headerBytes} bytes, file has ${bytes.length}`);
  }
  const headers = v2 ? channelHeaders2(bytes, view, ns) : channelHeaders1(bytes, view, ns);
  // Bytes of each channel in one record; n-bit types must fill whole bytes, as BioSig requires.
  const channelBytes = headers.map((h, c) => {
    const bits = gdfTypeBits(h.type);
    if (bits === undefined) {
      throw fail(`channel ${c + 1} "${h.label}": field GDFTYP is ${h.type}, not a GDF data type`);
    }
    if ((h.samplesPerRecord * bits) % 8 !== 0) {
      throw fail(
        `channel ${c + 1} "${h.label}": ${h.samplesPerRecord} samples of ${bits} bits do not ` +
          "fill whole bytes",
      );
    }
    return (h.samplesPerRecord * bits) / 8;
  });
  // Channels without samples (sparse, event-only) are left out; the rest must share one rate.
  const kept = headers.flatMap((h, c) => h.samplesPerRecord > 0 ? [c] : []);
  if (kept.length === 0) throw fail("no channel has samples (field SPR is 0 everywhere)");
  const spr = sharedSamplesPerRecord(headers, kept, duration, "channels", fail);
  const recordBytes = channelBytes.reduce((a, b) => a + b, 0);
  const dataEnd = headerBytes + records * recordBytes;
  if (bytes.length < dataEnd) {
    throw fail(
      `truncated: ${records} records of ${recordBytes} bytes need ${dataEnd} bytes, file has ` +
        `${bytes.length}`,
    );
  }
  const sfreq = snapRate(spr, duration);
  const samples = records * spr;
  const signals = new Float32Array(kept.length * samples);
  const channels: RecordingChannel[] = [];
  const starts: number[] = [];
  headers.reduce((at, _, c) => (starts.push(at), at + channelBytes[c]), 0);
  kept.forEach((c, row) => {
    const h = headers[c];
    const toUv = microvoltFactor(h.unit, h.unitCode);
    channels.push({ label: h.label, unit: h.unit, voltage: toUv !== undefined });
    if (!(h.digitalMax !== h.digitalMin)) {
      throw fail(
        `channel ${c + 1} "${h.label}": fields DigMax and DigMin are both ${h.digitalMin}`,
      );
    }
    const limits = [h.physicalMin, h.physicalMax, h.digitalMin, h.digitalMax];
    if (!limits.every(Number.isFinite)) {
      throw fail(
        `channel ${c + 1} "${h.label}": fields PhysMin, PhysMax, DigMin, DigMax are ` +
          `${limits.join(", ")}, expected finite numbers`,
      );
    }
    const gain = (h.physicalMax - h.physicalMin) / (h.digitalMax - h.digitalMin);
    const scale = toUv ?? 1;
    const decode = sampleDecoder(view, h.type);
    const out = signals.subarray(row * samples, (row + 1) * samples);
    for (let r = 0; r < records; r++) {
      const base = headerBytes + r * recordBytes + starts[c];
      for (let s = 0; s < spr; s++) {
        const dig = decode(base, s);
        out[r * spr + s] = (h.physicalMin + (dig - h.digitalMin) * gain) * scale;
      }
    }
  });
  const omitted = headers.flatMap((h, c) =>
    kept.includes(c) ? [] : [{ label: h.label, reason: "no samples (sparse or event channel)" }]
  );
  const events = parseEventTable(view, dataEnd, version, sfreq, file);
  return {
    file,
    format: "GDF",
    version: m[1],
    sfreq,
    channels,
    signals,
    samples,
    events,
    segments: [0],
    omitted,
  };
}

/** GDF 1.x: label 16, transducer 80, unit 8, physical min/max f64, digital min/max i64, prefilter 80, SPR u32, GDFTYP u32, reserved 32. */
function channelHeaders1(bytes: Uint8Array, view: DataView, ns: number): GdfChannelHeader[] {
  const at = fieldOffsets(ns, [16, 80, 8, 8, 8, 8, 8, 80, 4, 4, 32]);
  return Array.from({ length: ns }, (_, c) => ({
    label: asciiField(bytes.subarray(at[0](c), at[0](c) + 16)),
    unit: asciiField(bytes.subarray(at[2](c), at[2](c) + 8)),
    unitCode: 0,
    physicalMin: view.getFloat64(at[3](c), true),
    physicalMax: view.getFloat64(at[4](c), true),
    digitalMin: Number(view.getBigInt64(at[5](c), true)),
    digitalMax: Number(view.getBigInt64(at[6](c), true)),
    samplesPerRecord: view.getUint32(at[8](c), true),
    type: view.getUint32(at[9](c), true),
  }));
}

/** GDF 2.x: label 16, transducer 80, unit 6, unit code u16, physical and digital min/max f64, reserved 68, filters 3×f32, SPR u32, GDFTYP u32, position 12, sensor info 20. */
function channelHeaders2(bytes: Uint8Array, view: DataView, ns: number): GdfChannelHeader[] {
  const at = fieldOffsets(ns, [16, 80, 6, 2, 8, 8, 8, 8, 68, 4, 4, 4, 4, 4, 12, 20]);
  return Array.from({ length: ns }, (_, c) => ({
    label: asciiField(bytes.subarray(at[0](c), at[0](c) + 16)),
    unit: asciiField(bytes.subarray(at[2](c), at[2](c) + 6)),
    unitCode: view.getUint16(at[3](c), true),
    physicalMin: view.getFloat64(at[4](c), true),
    physicalMax: view.getFloat64(at[5](c), true),
    digitalMin: view.getFloat64(at[6](c), true),
    digitalMax: view.getFloat64(at[7](c), true),
    samplesPerRecord: view.getUint32(at[12](c), true),
    type: view.getUint32(at[13](c), true),
  }));
}

/** For fields of the given sizes stored field by field after the fixed header: channel → byte offset. */
function fieldOffsets(ns: number, sizes: number[]): ((c: number) => number)[] {
  let off = 256;
  return sizes.map((size) => {
    const start = off;
    off += size * ns;
    return (c: number) => start + c * size;
  });
}

/** A reader of sample `s` of a channel block starting at byte `base`, as a number. */
function sampleDecoder(view: DataView, type: number): (base: number, s: number) => number {
  switch (type) {
    case 1:
      return (b, s) => view.getInt8(b + s);
    case 2:
      return (b, s) => view.getUint8(b + s);
    case 3:
      return (b, s) => view.getInt16(b + 2 * s, true);
    case 4:
      return (b, s) => view.getUint16(b + 2 * s, true);
    case 5:
      return (b, s) => view.getInt32(b + 4 * s, true);
    case 6:
      return (b, s) => view.getUint32(b + 4 * s, true);
    case 7:
      return (b, s) => Number(view.getBigInt64(b + 8 * s, true));
    case 8:
      return (b, s) => Number(view.getBigUint64(b + 8 * s, true));
    case 16:
      return (b, s) => view.getFloat32(b + 4 * s, true);
    case 17:
      return (b, s) => view.getFloat64(b + 8 * s, true);
    case 18:
      return (b, s) => float128(view, b + 16 * s);
  }
  const signed = type < 511;
  const bits = signed ? type - 255 : type - 511;
  return (b, s) => packedInteger(view, b, s * bits, bits, signed);
}

/** An IEEE 754 binary128 value, rounded to the nearest float64. */
function float128(view: DataView, at: number): number {
  const top = view.getUint16(at + 14, true);
  const sign = top >> 15 ? -1 : 1;
  const exponent = top & 0x7fff;
  // 112 mantissa bits: the high 48 in bytes 8..13, the low 64 in bytes 0..7.
  const high = Number(view.getUint32(at + 8, true)) + view.getUint16(at + 12, true) * 2 ** 32;
  const low = Number(view.getBigUint64(at, true));
  const fraction = high / 2 ** 48 + low / 2 ** 112;
  if (exponent === 0x7fff) return fraction === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * fraction * 2 ** (1 - 16383);
  return sign * (1 + fraction) * 2 ** (exponent - 16383);
}

/** An n-bit little-endian integer starting `bitOffset` bits after byte `base`. */
function packedInteger(
  view: DataView,
  base: number,
  bitOffset: number,
  bits: number,
  signed: boolean,
): number {
  let value = 0n;
  for (let i = 0; i < bits; i++) {
    const bit = bitOffset + i;
    if ((view.getUint8(base + (bit >> 3)) >> (bit & 7)) & 1) value |= 1n << BigInt(i);
  }
  if (signed && value >> BigInt(bits - 1)) value -= 1n << BigInt(bits);
  return Number(value);
}

function parseEventTable(
  view: DataView,
  at: number,
  version: number,
  sfreq: number,
  file: string,
): RecordingEvent[] {
  const fail = (m: string) => new RecordingError(file, m);
  if (view.byteLength === at) return [];
  if (view.byteLength < at + 8) {
    throw fail(`truncated: the event table header at byte ${at} needs 8 bytes`);
  }
  const mode = view.getUint8(at);
  const u24 = view.getUint8(at + 1) | (view.getUint8(at + 2) << 8) | (view.getUint8(at + 3) << 16);
  const n = version < 1.94 ? view.getUint32(at + 4, true) : u24;
  const rate = version < 1.94 ? u24 : view.getFloat32(at + 4, true);
  if ((mode & 3) !== 1 && (mode & 3) !== 3) {
    throw fail(`event table field mode is ${mode}, expected 1 or 3`);
  }
  const full = (mode & 3) === 3;
  const need = at + 8 + n * (full ? 12 : 6);
  if (view.byteLength < need) {
    throw fail(
      `truncated: the event table of ${n} events needs ${need} bytes, file has ${view.byteLength}`,
    );
  }
  // Positions count at the event rate (the signal's rate when the file leaves it 0).
  const toSignal = rate > 0 && Math.abs(rate - sfreq) > 1e-9 ? sfreq / rate : 1;
  const posAt = at + 8, typAt = posAt + 4 * n, chnAt = typAt + 2 * n, durAt = chnAt + 2 * n;
  const events: RecordingEvent[] = [];
  for (let i = 0; i < n; i++) {
    const type = view.getUint16(typAt + 2 * i, true);
    if (type === SPARSE_SAMPLE) continue;
    events.push({
      position: Math.round((view.getUint32(posAt + 4 * i, true) - 1) * toSignal),
      code: String(type),
      channel: full ? view.getUint16(chnAt + 2 * i, true) : 0,
      duration: full ? Math.round(view.getUint32(durAt + 4 * i, true) * toSignal) : 0,
    });
  }
  return events.sort((a, b) => a.position - b.position);
}
