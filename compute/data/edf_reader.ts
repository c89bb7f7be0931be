/**
 * EDF, EDF+ (continuous "EDF+C" and discontinuous "EDF+D") and BDF (BioSemi, 24-bit; "BDF+").
 *
 * Header: 256 bytes of ASCII fields (version "0" or 0xFF "BIOSEMI", header bytes, a reserved field
 * that says "EDF+C"/"EDF+D"/"BDF+C"/"24BIT", number of records, record duration in seconds,
 * number of signals), then 256 bytes per signal stored field by field (label 16, transducer 80,
 * unit 8, physical min/max 8+8, digital min/max 8+8, prefiltering 80, samples per record 8,
 * reserved 32). Each data record holds every signal's samples in turn as little-endian int16 (EDF)
 * or int24 (BDF). Events come from the annotation signal ("EDF Annotations"/"BDF Annotations":
 * time-stamped annotation lists, `+onset␕duration␔text␔␀`, the first of each record giving its
 * start time) or, when there is none, from a status channel ("Status", BioSemi's trigger bits in
 * the low 16 bits of its value, which converters may have rescaled: the physical value is read):
 * an event wherever its value changes to a non-zero one.
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

const ANNOTATION_LABEL = /^(EDF|BDF) Annotations$/;
const STATUS_LABEL = /^(Status|STATUS|Trigger|TRIGGER|STI 014)$/;

interface Signal {
  label: string;
  unit: string;
  physicalMin: number;
  physicalMax: number;
  digitalMin: number;
  digitalMax: number;
  samplesPerRecord: number;
}

export function parseEdf(bytes: Uint8Array, file: string): Recording {
  const fail = (m: string) => new RecordingError(file, m);
  if (bytes.length < 256) throw fail(`truncated: ${bytes.length} bytes, an EDF header needs 256`);
  const bdf = bytes[0] === 0xff && asciiField(bytes.subarray(1, 8)) === "BIOSEMI";
  if (!bdf && asciiField(bytes.subarray(0, 8)) !== "0") {
    throw fail(
      `version field "${asciiField(bytes.subarray(0, 8))}" is neither EDF's "0" nor BDF's`,
    );
  }
  const text = (at: number, size: number) => asciiField(bytes.subarray(at, at + size));
  const integer = (at: number, size: number, field: string) => {
    const s = text(at, size);
    if (!/^[+-]?\d+$/.test(s)) throw fail(`header field "${field}" is "${s}", expected an integer`);
    return Number(s);
  };
  const decimal = (at: number, size: number, field: string) => {
    const s = text(at, size);
    const v = Number(s);
    if (s === "" || !Number.isFinite(v)) {
      throw fail(`header field "${field}" is "${s}", expected a number`);
    }
    return v;
  };
  const reserved = text(192, 44);
  const plus = /^(EDF|BDF)\+[CD]/.test(reserved);
  const discontinuous = /^(EDF|BDF)\+D/.test(reserved);
  const headerBytes = integer(184, 8, "number of header bytes");
  const records = integer(236, 8, "number of data records");
  const duration = decimal(244, 8, "duration of a data record");
  const ns = integer(252, 4, "number of signals");
  if (records < 0) throw fail(`header field "number of data records" is ${records}: not closed`);
  if (ns < 1) throw fail(`header field "number of signals" is ${ns}`);
  if (headerBytes !== 256 * (ns + 1)) {
    throw fail(
      `header field "number of header bytes" is ${headerBytes}, expected ${256 * (ns + 1)}`,
    );
  }
  if (bytes.length < headerBytes) {
    throw fail(`truncated: header needs ${headerBytes} bytes, file has ${bytes.length}`);
  }
  let off = 256;
  const field = (size: number) => {
    const start = off;
    off += size * ns;
    return (c: number) => start + c * size;
  };
  const fLabel = field(16), _fTransducer = field(80), fUnit = field(8);
  const fPMin = field(8), fPMax = field(8), fDMin = field(8), fDMax = field(8);
  const _fPrefilter = field(80), fSpr = field(8);
  const signals: Signal[] = Array.from({ length: ns }, (_, c) => {
    const label = text(fLabel(c), 16);
    const at = `signal ${c + 1} "${label}"`;
    return {
      label,
      unit: text(fUnit(c), 8),
      physicalMin: decimal(fPMin(c), 8, `${at} physical minimum`),
      physicalMax: decimal(fPMax(c), 8, `${at} physical maximum`),
      digitalMin: integer(fDMin(c), 8, `${at} digital minimum`),
      digitalMax: integer(fDMax(c), 8, `${at} digital maximum`),
      samplesPerRecord: integer(fSpr(c), 8, `${at} samples per record`),
    };
  });
  const annotationRows = signals.flatMap((s, c) => ANNOTATION_LABEL.test(s.label) ? [c] : []);
  const dataRows = signals.flatMap((s, c) =>
    ANNOTATION_LABEL.test(s.label) || s.samplesPerRecord === 0 ? [] : [c]
  );
  if (dataRows.length === 0) throw fail("no signal with samples besides annotations");
  const spr = sharedSamplesPerRecord(signals, dataRows, duration, "signals", fail);
  const size = bdf ? 3 : 2;
  const starts: number[] = [];
  const recordBytes = signals.reduce((a, s) => (starts.push(a), a + s.samplesPerRecord * size), 0);
  const dataEnd = headerBytes + records * recordBytes;
  if (bytes.length < dataEnd) {
    throw fail(
      `truncated: ${records} records of ${recordBytes} bytes need ${dataEnd} bytes, file has ` +
        `${bytes.length}`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const digital = (at: number) =>
    bdf
      ? ((view.getUint8(at) | (view.getUint8(at + 1) << 8) | (view.getUint8(at + 2) << 16)) << 8) >>
        8
      : view.getInt16(at, true);
  if (!(duration > 0)) throw fail(`header field "duration of a data record" is ${duration}`);
  const sfreq = snapRate(spr, duration);
  const samples = records * spr;
  const out = new Float32Array(dataRows.length * samples);
  const channels: RecordingChannel[] = [];
  const statusRow = dataRows.findIndex((c) => STATUS_LABEL.test(signals[c].label));
  const status = statusRow >= 0 ? new Int32Array(samples) : undefined;
  dataRows.forEach((c, row) => {
    const s = signals[c];
    if (s.digitalMax === s.digitalMin) {
      throw fail(`signal ${c + 1} "${s.label}": digital maximum equals minimum (${s.digitalMin})`);
    }
    const toUv = microvoltFactor(s.unit);
    channels.push({ label: s.label, unit: s.unit, voltage: toUv !== undefined });
    const gain = (s.physicalMax - s.physicalMin) / (s.digitalMax - s.digitalMin);
    const scale = toUv ?? 1;
    const dst = out.subarray(row * samples, (row + 1) * samples);
    for (let r = 0; r < records; r++) {
      const base = headerBytes + r * recordBytes + starts[c];
      for (let i = 0; i < spr; i++) {
        const physical = s.physicalMin + (digital(base + i * size) - s.digitalMin) * gain;
        if (row === statusRow) status![r * spr + i] = Math.round(physical);
        dst[r * spr + i] = physical * scale;
      }
    }
  });
  let events: RecordingEvent[] = [];
  let segments = [0];
  if (annotationRows.length > 0) {
    const tal = readAnnotations(bytes, annotationRows, signals, starts, headerBytes, recordBytes, {
      records,
      size,
      file,
    });
    // Record start times place each annotation in the record it falls into (EDF+D has gaps).
    const recordStart = tal.recordStarts;
    const t0 = recordStart[0] ?? 0;
    if (discontinuous) {
      segments = recordStart.flatMap((t, r) =>
        r === 0 || Math.abs(t - recordStart[r - 1] - duration) > duration * 1e-6 ? [r * spr] : []
      );
    }
    events = tal.annotations.map((a) => {
      let r = 0;
      if (discontinuous) {
        r = recordStart.findLastIndex((t) => t <= a.onset + 1e-9);
        if (r < 0) r = 0;
      }
      const base = discontinuous ? recordStart[r] : t0;
      return {
        position: (discontinuous ? r * spr : 0) + Math.round((a.onset - base) * sfreq),
        code: a.text,
        duration: Math.round(a.duration * sfreq),
        channel: 0,
      };
    });
  } else if (status) {
    let previous = 0;
    for (let i = 0; i < samples; i++) {
      const v = status[i] & 0xffff;
      if (v !== previous && v !== 0) {
        events.push({ position: i, code: String(v), duration: 0, channel: 0 });
      }
      previous = v;
    }
  }
  events.sort((a, b) => a.position - b.position);
  return {
    file,
    format: (bdf ? "BDF" : "EDF") + (plus ? "+" : ""),
    version: reserved.slice(0, 5).trim() || (bdf ? "BDF" : "EDF"),
    sfreq,
    channels,
    signals: out,
    samples,
    events,
    segments,
    omitted: annotationRows.map((c) => ({ label: signals[c].label, reason: "annotations" })),
  };
}

interface Annotation {
  onset: number;
  duration: number;
  text: string;
}

/** The annotations of every record, and each record's start time (its first, empty TAL). */
function readAnnotations(
  bytes: Uint8Array,
  rows: number[],
  signals: Signal[],
  starts: number[],
  headerBytes: number,
  recordBytes: number,
  o: { records: number; size: number; file: string },
): { annotations: Annotation[]; recordStarts: number[] } {
  const annotations: Annotation[] = [];
  const recordStarts: number[] = [];
  const decoder = new TextDecoder("utf-8");
  for (let r = 0; r < o.records; r++) {
    let first = true;
    for (const c of rows) {
      const at = headerBytes + r * recordBytes + starts[c];
      const raw = bytes.subarray(at, at + signals[c].samplesPerRecord * o.size);
      // TALs end with a NUL; the rest of the signal is NUL padding.
      for (const tal of decoder.decode(raw).split("\u0000")) {
        if (tal === "") continue;
        const parts = tal.split("\u0014");
        const [onsetText, durationText] = parts[0].split("\u0015");
        const m = /^[+-]\d+(\.\d*)?$/.test(onsetText) &&
          (durationText === undefined || /^\d+(\.\d*)?$/.test(durationText));
        if (!m) {
          throw new RecordingError(
            o.file,
            `record ${r}: annotation "${tal.slice(0, 40)}" does not start with +onset`,
          );
        }
        const onset = Number(onsetText);
        const texts = parts.slice(1).filter((t) => t !== "");
        if (first) {
          recordStarts.push(onset);
          first = false;
        }
        for (const text of texts) {
          annotations.push({ onset, duration: Number(durationText ?? 0), text: text.trim() });
        }
      }
    }
  }
  return { annotations, recordStarts };
}
