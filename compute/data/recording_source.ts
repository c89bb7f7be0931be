/**
 * Trials cut from one continuous recording (`recording.ts`), whatever format it came from.
 *
 * Two protocols:
 * - BCIC2a, recognised when the file has trial-start events (768) and no `events` are given:
 *   trials start at event 768, the class is the cue inside the trial (769–772 → labels 0–3), the
 *   evaluation session's unknown cue (783) takes its label from a label file (classes 1–4, one per
 *   trial), the window is 2–6 s after the trial start, and event 1023 flags a trial rejected by
 *   the organisers (flagged, not dropped).
 * - Events: every event whose code is named in `events` (`769=left_hand`) starts a trial, the
 *   window counts from that event, and the label is the class's index in the order classes are
 *   first named.
 *
 * Channels come from `channels` by position (one name per file channel, `-` drops it) when given;
 * else BCIC2a's 22 names for a BCIC2a file whose labels the position bank does not know; else
 * the file's labels the position bank knows (case-insensitive, `EEG-` prefix stripped), the others
 * dropped and listed. Trials whose window leaves the recording or crosses a segment boundary are
 * skipped with the reason.
 */
import { basename } from "node:path";
import { MatError, readMat } from "../io/mat.ts";
import { parseKey } from "./lmdb_source.ts";
import {
  bankName,
  BCIC2A_CHANNELS,
  BCIC2A_CLASS_NAMES,
  nearMatches,
  positionBank,
  UnknownChannelError,
} from "./montage.ts";
import { type Recording, RecordingError } from "./recording.ts";
import type { Trial, TrialMeta, TrialSource } from "./trials.ts";

export const EVENT_TRIAL_START = "768";
export const EVENT_CUES = ["769", "770", "771", "772"];
export const EVENT_UNKNOWN_CUE = "783";
export const EVENT_REJECTED = "1023";
export const BCIC2A_WINDOW: [number, number] = [2, 6];

/** One event code and the class it starts a trial of. */
export interface EventClass {
  code: string;
  name: string;
}

export interface RecordingSourceOptions {
  /** Window start and end in seconds after the trial's event. */
  window?: [number, number];
  /** Evaluation-session labels for BCIC2a (classes 1–4): the competition's `A01E.mat` or text. */
  labelFile?: string;
  /** One name per file channel, `-` to drop it (or, for BCIC2a, one per non-EOG channel). */
  channels?: readonly string[];
  /** Event codes that start trials, with their class names. */
  events?: readonly EventClass[];
}

/** What the source kept and left out: for `data inspect`. */
export interface RecordingSummary {
  protocol: "BCIC2a" | "events";
  classes: string[];
  window: [number, number];
  /** File label → bank name, for the channels kept. */
  kept: { label: string; name: string }[];
  dropped: { label: string; reason: string }[];
  skipped: { key: string; reason: string }[];
  notes: string[];
}

/** Parses `769=left_hand,770=right_hand` (already split on commas). */
export function parseEventClasses(items: readonly string[]): EventClass[] {
  return items.map((item) => {
    const m = /^([^=]+)=(.+)$/.exec(item.trim());
    if (!m) {
      throw new RecordingError("--events", `"${item}" is not CODE=CLASS (e.g. 769=left_hand)`);
    }
    return { code: m[1].trim(), name: m[2].trim() };
  });
}

export class RecordingSource implements TrialSource {
  readonly description: string;
  private constructor(
    readonly recording: Recording,
    readonly channels: readonly string[],
    private readonly rows: number[],
    readonly samples: number,
    private readonly starts: number[],
    readonly trials: readonly TrialMeta[],
    readonly summary: RecordingSummary,
  ) {
    this.description = `${recording.format.toLowerCase()} ${recording.file}`;
  }

  get sfreq(): number {
    return this.recording.sfreq;
  }

  get file(): string {
    return this.recording.file;
  }

  static async open(
    rec: Recording,
    options: RecordingSourceOptions = {},
  ): Promise<RecordingSource> {
    const file = rec.file;
    const fail = (m: string) => new RecordingError(file, m);
    const bcic = !options.events && rec.events.some((e) => e.code === EVENT_TRIAL_START);
    const classes = bcic ? [...BCIC2A_CLASS_NAMES] : [];
    const events = options.events ?? [];
    if (!bcic && events.length === 0) {
      throw fail(
        "not recognised as BCIC2a (no trial-start events 768) and no --events given; its events: " +
          (describeEvents(rec) || "none"),
      );
    }
    for (const e of events) if (!classes.includes(e.name)) classes.push(e.name);
    const [t0, t1] = options.window ?? (bcic ? BCIC2A_WINDOW : [0, 4]);
    if (!(t1 > t0)) throw fail(`trial window ${t0}–${t1} s is empty`);
    const { rows, names, dropped, notes } = pickChannels(rec, bcic, options.channels);
    const offset = Math.round(t0 * rec.sfreq);
    const samples = Math.round((t1 - t0) * rec.sfreq);
    const fileLabels = options.labelFile ? await readLabelFile(options.labelFile) : undefined;
    // BCIC2a file names (A01T) give the subject and session, as the LMDB keys cut from them do.
    const { subject, session } = parseKey(basename(file));
    const stem = basename(file).replace(/\.[^.]*$/, "");
    // Trial starts and labels, in time order.
    const anchors: { position: number; label: number; end: number }[] = [];
    if (bcic) {
      const starts = rec.events.filter((e) => e.code === EVENT_TRIAL_START).map((e) => e.position);
      if (fileLabels && fileLabels.length !== starts.length) {
        throw fail(
          `label file ${options.labelFile} has ${fileLabels.length} labels for ${starts.length} trials`,
        );
      }
      starts.forEach((start, i) => {
        const end = starts[i + 1] ?? Infinity;
        const cue = rec.events.find((e) =>
          e.position >= start && e.position < end &&
          (EVENT_CUES.includes(e.code) || e.code === EVENT_UNKNOWN_CUE)
        );
        let label = -1;
        if (fileLabels) label = fileLabels[i];
        else if (cue && cue.code !== EVENT_UNKNOWN_CUE) label = EVENT_CUES.indexOf(cue.code);
        anchors.push({ position: start, label, end });
      });
    } else {
      const byCode = new Map(events.map((e) => [e.code, classes.indexOf(e.name)]));
      for (const e of rec.events) {
        const label = byCode.get(e.code);
        if (label !== undefined) anchors.push({ position: e.position, label, end: Infinity });
      }
      anchors.forEach((a, i) => a.end = anchors[i + 1]?.position ?? Infinity);
      if (anchors.length === 0) {
        throw fail(
          `no events with codes ${events.map((e) => e.code).join(", ")}; its events: ` +
            (describeEvents(rec) || "none"),
        );
      }
    }
    const trials: TrialMeta[] = [];
    const starts: number[] = [];
    const skipped: { key: string; reason: string }[] = [];
    const segmentOf = (p: number) => rec.segments.filter((s) => s <= p).length - 1;
    anchors.forEach((a, i) => {
      // Zero-padded so that key order (LMDB order) is time order.
      const key = `${stem}-${String(i).padStart(4, "0")}`;
      const first = a.position + offset;
      if (first < 0 || first + samples > rec.samples) {
        skipped.push({
          key,
          reason: `window ${t0}–${t1} s after sample ${a.position} runs past the recording ` +
            `(${rec.samples} samples)`,
        });
        return;
      }
      const segment = segmentOf(first);
      if (segmentOf(first + samples - 1) !== segment) {
        skipped.push({ key, reason: `window ${t0}–${t1} s crosses a gap in the recording` });
        return;
      }
      starts.push(first);
      const meta: TrialMeta = {
        key,
        label: a.label,
        subject,
        session,
        rejected: rec.events.some((e) =>
          e.code === EVENT_REJECTED && e.position >= a.position && e.position < a.end
        ),
      };
      if (rec.segments.length > 1) meta.run = segment;
      trials.push(meta);
    });
    if (trials.length === 0) {
      throw fail(`no trial fits in the recording (${skipped[0]?.reason ?? "no trial events"})`);
    }
    const summary: RecordingSummary = {
      protocol: bcic ? "BCIC2a" : "events",
      classes,
      window: [t0, t1],
      kept: rows.map((r, i) => ({ label: rec.channels[r].label, name: names[i] })),
      dropped: [...rec.omitted, ...dropped],
      skipped,
      notes,
    };
    return new RecordingSource(rec, names, rows, samples, starts, trials, summary);
  }

  read(index: number): Promise<Trial> {
    const meta = this.trials[index];
    if (!meta) {
      throw new RecordingError(
        this.file,
        `trial index ${index} outside 0..${this.trials.length - 1}`,
      );
    }
    const C = this.channels.length, T = this.samples, N = this.recording.samples;
    const eeg = new Float32Array(C * T);
    const first = this.starts[index];
    this.rows.forEach((row, c) => {
      eeg.set(this.recording.signals.subarray(row * N + first, row * N + first + T), c * T);
    });
    return Promise.resolve({ ...meta, eeg });
  }

  close(): void {}
}

function describeEvents(rec: Recording): string {
  const counts = new Map<string, number>();
  for (const e of rec.events) counts.set(e.code, (counts.get(e.code) ?? 0) + 1);
  return [...counts].slice(0, 20).map(([c, n]) => `${c} (${n}×)`).join(", ");
}

function pickChannels(
  rec: Recording,
  bcic: boolean,
  given: readonly string[] | undefined,
): {
  rows: number[];
  names: string[];
  dropped: { label: string; reason: string }[];
  notes: string[];
} {
  const fail = (m: string) => new RecordingError(rec.file, m);
  const labels = rec.channels.map((c) => c.label);
  const eogFree = labels.flatMap((l, i) => /^EOG/i.test(l) ? [] : [i]);
  let rows: number[];
  let names: string[];
  const dropped: { label: string; reason: string }[] = [];
  if (given) {
    // By position over every channel, or (a BCIC2a habit) over the non-EOG ones.
    const over = given.length === labels.length
      ? labels.map((_, i) => i)
      : given.length === eogFree.length
      ? eogFree
      : undefined;
    if (!over) {
      throw fail(
        `--channels has ${given.length} names for ${labels.length} channels (${
          labels.join(", ")
        }); ` +
          "give one per channel, - to drop one",
      );
    }
    rows = [];
    names = [];
    over.forEach((row, i) => {
      if (given[i] === "-") {
        dropped.push({ label: labels[row], reason: "dropped by --channels" });
        return;
      }
      const name = bankName(given[i]);
      if (!name) {
        throw new UnknownChannelError(given[i], nearMatches(given[i], [...positionBank().keys()]));
      }
      rows.push(row);
      names.push(name);
    });
    for (const row of labels.keys()) {
      if (!over.includes(row)) dropped.push({ label: labels[row], reason: "EOG" });
    }
  } else {
    const known = labels.map((l) => bankName(l));
    if (bcic && eogFree.length === BCIC2A_CHANNELS.length && eogFree.some((r) => !known[r])) {
      rows = eogFree;
      names = [...BCIC2A_CHANNELS];
      for (const row of labels.keys()) {
        if (!eogFree.includes(row)) dropped.push({ label: labels[row], reason: "EOG" });
      }
    } else {
      rows = labels.flatMap((_, i) => known[i] ? [i] : []);
      names = rows.map((r) => known[r]!);
      for (const row of labels.keys()) {
        if (!known[row]) dropped.push({ label: labels[row], reason: "not in the position bank" });
      }
      if (rows.length === 0) {
        throw fail(
          `no channel label is in the position bank (${labels.join(", ")}); name them by ` +
            "position with --channels (- to drop one)",
        );
      }
    }
  }
  const notes: string[] = [];
  for (const row of rows) {
    const ch = rec.channels[row];
    if (ch.voltage) continue;
    if (ch.unit === "" || ch.unit === "?") {
      notes.push(`channel "${ch.label}" has no unit; its values are taken as µV`);
    } else {
      throw fail(`channel "${ch.label}" has unit "${ch.unit}", not a voltage; drop it with -`);
    }
  }
  return { rows, names, dropped, notes };
}

/** Class labels 1–4 (whitespace or newline separated) → 0–3. */
async function readLabelFile(path: string): Promise<number[]> {
  let values: string[];
  try {
    values = /\.mat$/i.test(path)
      ? (await matLabels(path)).map(String)
      : (await Deno.readTextFile(path)).split(/[\s,]+/).filter((s) => s !== "");
  } catch (e) {
    if (e instanceof RecordingError || e instanceof MatError) throw e;
    throw new RecordingError(path, `cannot read label file: ${(e as Error).message}`);
  }
  return values.map((s, i) => {
    const v = Number(s);
    if (!Number.isInteger(v) || v < 1 || v > 4) {
      throw new RecordingError(path, `label ${i} is "${s}", expected a class 1–4`);
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
    throw new RecordingError(
      path,
      `no "classlabel" variable (variables: ${names.join(", ") || "none"}); expected the ` +
        "competition's labels, classes 1–4",
    );
  }
  return [...found.data];
}
