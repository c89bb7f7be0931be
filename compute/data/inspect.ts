/** `data inspect`: what a trial source holds (counts, shape, rate, layout, value range). */
import { GdfSource } from "./gdf_source.ts";
import { LmdbSource } from "./lmdb_source.ts";
import { trialBatches, type TrialSource } from "./trials.ts";

export interface InspectReport {
  source: string;
  trials: number;
  channels: string[];
  samples: number;
  sfreq: number;
  /** LMDB: the stored layout, dtype and label kind; GDF: file version and event counts. */
  storage: Record<string, unknown>;
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
  } else if (source instanceof GdfSource) {
    storage.version = source.recording.version;
    storage.events = count(source.recording.events.map((e) => e.type));
    storage.file_channels = source.recording.channels.map((c) => c.label);
  }
  const t = source.trials;
  return {
    source: source.description,
    trials: t.length,
    channels: [...source.channels],
    samples: source.samples,
    sfreq: source.sfreq,
    storage,
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
    `storage    ${JSON.stringify(r.storage)}`,
    `subjects   ${kv(r.perSubject)}`,
    `sessions   ${kv(r.perSession)}`,
    `labels     ${kv(r.perLabel)}`,
    `splits     ${kv(r.perSplit)}`,
    `values µV  min ${r.min.toPrecision(5)}, max ${r.max.toPrecision(5)}, mean ` +
    `${r.mean.toPrecision(4)}, std ${r.std.toPrecision(4)}`,
  ];
  if (r.rejected) lines.push(`rejected   ${r.rejected} trials flagged (GDF event 1023)`);
  for (const s of r.skipped) lines.push(`skipped    ${s.key}: ${s.reason}`);
  return lines.join("\n");
}
