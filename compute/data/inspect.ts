/**
 * `data inspect`: what a trial source holds (counts, shape, rate, layout, value range); for
 * recordings also each file's format and version, channels kept and dropped, events by code,
 * trials by class, and what was skipped and why.
 */
import { LmdbSource } from "./lmdb_source.ts";
import { RecordingSetSource } from "./recording_files.ts";
import { trialBatches, type TrialSource } from "./trials.ts";

export interface InspectReport {
  source: string;
  trials: number;
  channels: string[];
  samples: number;
  sfreq: number;
  /** LMDB: the stored layout, dtype and label kind. */
  storage: Record<string, unknown>;
  /** Recordings: one entry per file. */
  recordings: RecordingReport[];
  perSubject: Record<string, number>;
  perSession: Record<string, number>;
  perLabel: Record<string, number>;
  perSplit: Record<string, number>;
  rejected: number;
  skipped: { key: string; reason: string }[];
  /** Over all values, in µV. */
  min: number;
  max: number;
  mean: number;
  std: number;
}

export interface RecordingReport {
  file: string;
  format: string;
  version: string;
  sfreq: number;
  samples: number;
  protocol: string;
  window: [number, number];
  kept: string[];
  dropped: string[];
  eventsByCode: Record<string, number>;
  trialsByClass: Record<string, number>;
  notes: string[];
}

function count(values: (string | number | undefined)[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) {
    const k = v === undefined || v === "" ? "(none)" : String(v);
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

export async function inspectSource(source: TrialSource): Promise<InspectReport> {
  let min = Infinity, max = -Infinity, sum = 0, sq = 0, n = 0;
  for await (const batch of trialBatches(source, { batchSize: 64 })) {
    for (const v of batch.eeg) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
      sq += v * v;
    }
    n += batch.eeg.length;
  }
  const mean = sum / n;
  const storage: Record<string, unknown> = {};
  let skipped: { key: string; reason: string }[] = [];
  if (source instanceof LmdbSource) {
    Object.assign(storage, source.layout, { splits_from: source.splitSource });
    storage.unit_scale = source.unitScale;
    skipped = [...source.skipped];
  }
  const recordings: RecordingReport[] = [];
  if (source instanceof RecordingSetSource) {
    skipped = [...source.skippedFiles];
    for (const s of source.sources) {
      const r = s.recording, m = s.summary;
      const names = (l: number) => l < 0 ? "(unlabelled)" : m.classes[l] ?? String(l);
      recordings.push({
        file: r.file,
        format: r.format,
        version: r.version,
        sfreq: r.sfreq,
        samples: r.samples,
        protocol: m.protocol,
        window: m.window,
        kept: m.kept.map((k) => k.label === k.name ? k.name : `${k.label}→${k.name}`),
        dropped: m.dropped.map((d) => `${d.label} (${d.reason})`),
        eventsByCode: count(r.events.map((e) => e.code)),
        trialsByClass: count(s.trials.map((t) => names(t.label))),
        notes: m.notes,
      });
      skipped.push(...m.skipped);
    }
  }
  const t = source.trials;
  return {
    source: source.description,
    trials: t.length,
    channels: [...source.channels],
    samples: source.samples,
    sfreq: source.sfreq,
    storage,
    recordings,
    perSubject: count(t.map((m) => m.subject || undefined)),
    perSession: count(t.map((m) => m.session)),
    perLabel: count(t.map((m) => m.label)),
    perSplit: count(t.map((m) => m.split)),
    rejected: t.filter((m) => m.rejected).length,
    skipped,
    min,
    max,
    mean,
    std: Math.sqrt(Math.max(0, sq / n - mean * mean)),
  };
}

export function formatInspectReport(r: InspectReport): string {
  const kv = (o: Record<string, number>) =>
    Object.entries(o).map(([k, v]) => `${k}: ${v}`).join(", ");
  const lines = [
    `source     ${r.source}`,
    `trials     ${r.trials}  (shape per trial [${r.channels.length}, ${r.samples}] at ${r.sfreq} Hz, ` +
    `${(r.samples / r.sfreq).toFixed(2)} s)`,
    `channels   ${r.channels.join(" ")}`,
  ];
  if (Object.keys(r.storage).length) lines.push(`storage    ${JSON.stringify(r.storage)}`);
  for (const f of r.recordings) {
    lines.push(
      `recording  ${f.file}: ${f.format} ${f.version}, ${f.sfreq} Hz, ${f.samples} samples ` +
        `(${(f.samples / f.sfreq).toFixed(1)} s); ${f.protocol} trials, window ${f.window[0]}–` +
        `${f.window[1]} s`,
      `  kept     ${f.kept.join(" ")}`,
      `  dropped  ${f.dropped.join(", ") || "none"}`,
      `  events   ${kv(f.eventsByCode) || "none"}`,
      `  classes  ${kv(f.trialsByClass)}`,
      ...f.notes.map((n) => `  note     ${n}`),
    );
  }
  lines.push(
    `subjects   ${kv(r.perSubject)}`,
    `sessions   ${kv(r.perSession)}`,
    `labels     ${kv(r.perLabel)}`,
    `splits     ${kv(r.perSplit)}`,
    `values µV  min ${r.min.toPrecision(5)}, max ${r.max.toPrecision(5)}, mean ` +
      `${r.mean.toPrecision(4)}, std ${r.std.toPrecision(4)}`,
  );
  if (r.rejected) lines.push(`rejected   ${r.rejected} trials flagged (GDF event 1023)`);
  for (const s of r.skipped) lines.push(`skipped    ${s.key}: ${s.reason}`);
  return lines.join("\n");
}
