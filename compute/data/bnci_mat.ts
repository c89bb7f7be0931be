/**
 * The BNCI Horizon archive's MAT-files (what MOABB and braindecode read for BCIC2a, `A01T.mat`): a
 * 1×N cell `data` of run structs with `X` [samples × channels] in µV, `trial` (1-based first sample
 * of each trial), `y` (class 1..K), `fs`, `classes` (names) and `artifacts` (1 = rejected by the
 * organisers). Runs are concatenated, each one a segment, and the trials become GDF-style events:
 * 768 at the trial start, the cue 768 + y at the same sample, 1023 when the trial has an artifact;
 * so a BNCI file reads through the same BCIC2a protocol as the competition's GDF files. With 25
 * columns (BCIC2a) the channels are its 22 EEG and 3 EOG; otherwise they are numbered and need
 * `--channels`.
 */
import { type MatValue, parseMat } from "../io/mat.ts";
import { BCIC2A_CHANNELS } from "./montage.ts";
import { type Recording, RecordingError, type RecordingEvent } from "./recording.ts";

type Struct = Map<string, MatValue>;

function numeric(run: Struct, field: string, file: string, at: string): Float64Array {
  const v = run.get(field);
  if (!v || v.kind !== "numeric") {
    throw new RecordingError(
      file,
      `${at}: field "${field}" is ${v ? v.kind : "missing"}, expected numbers`,
    );
  }
  return v.data;
}

export function parseBnciMat(bytes: Uint8Array, file: string): Recording {
  const mat = parseMat(bytes, file);
  const runsVar = [...mat.variables.entries()].find(([, v]) =>
    v.kind === "cell" && v.cells.length > 0 &&
    v.cells.every((c) => c.kind === "struct" && c.fields.includes("X"))
  );
  if (!runsVar) {
    const names = [...mat.variables].map(([n, v]) => `${n} (${v.kind})`).join(", ");
    throw new RecordingError(
      file,
      `not in the BNCI layout (a cell of structs with X, trial, y, fs); variables: ${
        names || "none"
      }`,
    );
  }
  const [varName, cell] = runsVar;
  const runs = (cell as { cells: MatValue[] }).cells.map((c) =>
    (c as { elements: Struct[] }).elements[0]
  );
  let sfreq = 0, channelCount = 0;
  const shapes = runs.map((run, r) => {
    const at = `${varName}{${r + 1}}`;
    const x = run.get("X");
    if (!x || x.kind !== "numeric" || x.dims.length !== 2) {
      throw new RecordingError(file, `${at}: field "X" is not a [samples × channels] matrix`);
    }
    const fs = numeric(run, "fs", file, at)[0];
    if (!(fs > 0)) {
      throw new RecordingError(file, `${at}: field "fs" is ${fs}, expected a rate in Hz`);
    }
    if (sfreq && fs !== sfreq) {
      throw new RecordingError(file, `${at}: field "fs" is ${fs} Hz, run 1 has ${sfreq} Hz`);
    }
    if (channelCount && x.dims[1] !== channelCount) {
      throw new RecordingError(
        file,
        `${at}: X has ${x.dims[1]} channels, run 1 has ${channelCount}`,
      );
    }
    sfreq = fs;
    channelCount = x.dims[1];
    return { samples: x.dims[0], data: x.data };
  });
  const samples = shapes.reduce((a, s) => a + s.samples, 0);
  const signals = new Float32Array(channelCount * samples);
  const segments: number[] = [];
  const events: RecordingEvent[] = [];
  let offset = 0;
  runs.forEach((run, r) => {
    const at = `${varName}{${r + 1}}`;
    const { samples: n, data } = shapes[r];
    // X is column-major [samples × channels]: each channel's samples are contiguous.
    for (let c = 0; c < channelCount; c++) {
      signals.set(data.subarray(c * n, (c + 1) * n), c * samples + offset);
    }
    const trial = run.has("trial") ? numeric(run, "trial", file, at) : new Float64Array();
    const y = run.has("y") ? numeric(run, "y", file, at) : new Float64Array();
    const artifacts = run.has("artifacts")
      ? numeric(run, "artifacts", file, at)
      : new Float64Array();
    if (y.length !== trial.length) {
      throw new RecordingError(file, `${at}: ${trial.length} trials but ${y.length} labels in "y"`);
    }
    trial.forEach((t, i) => {
      if (!Number.isInteger(t) || t < 1 || t > n) {
        throw new RecordingError(
          file,
          `${at}: trial ${i + 1} starts at sample ${t}, outside 1..${n}`,
        );
      }
      const position = offset + t - 1;
      events.push({ position, code: "768", duration: 0, channel: 0 });
      events.push({ position, code: String(768 + y[i]), duration: 0, channel: 0 });
      if (artifacts[i]) events.push({ position, code: "1023", duration: 0, channel: 0 });
    });
    segments.push(offset);
    offset += n;
  });
  const labels = channelCount === BCIC2A_CHANNELS.length + 3
    ? [...BCIC2A_CHANNELS, "EOG-left", "EOG-central", "EOG-right"]
    : Array.from({ length: channelCount }, (_, c) => `channel ${c + 1}`);
  return {
    file,
    format: "MAT (BNCI)",
    version: "level 5",
    sfreq,
    channels: labels.map((label) => ({ label, unit: "uV", voltage: true })),
    signals,
    samples,
    events,
    segments,
    omitted: [],
  };
}
