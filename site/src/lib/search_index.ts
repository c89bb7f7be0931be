/** The small JSON index behind the client-side search box (fetched on first use). */
import type { FeatureIndex } from "../../../schema/run_folder.ts";

export interface SearchIndex {
  classes: string[];
  channels: string[];
  bands: string[];
  /** Alive features: `[id, top class index, top channel index, band index, firing frequency]`. */
  features: [number, number, number, number, number][];
  /** Trials with a page: `[index, class index, subject]`. */
  trials: [number, number, number][];
}

export function buildSearchIndex(
  index: FeatureIndex,
  trialLabels: Map<number, [number, number]>,
): SearchIndex {
  const bands = index.bands.map((b) => b.name);
  return {
    classes: index.class_names,
    channels: index.channels,
    bands,
    features: index.features.filter((f) => f.alive).map((f) => [
      f.id,
      f.top_class ?? -1,
      f.top_channel ?? -1,
      f.dominant_band === null ? -1 : bands.indexOf(f.dominant_band),
      Number(f.sparsity.toPrecision(3)),
    ]),
    trials: index.trial_files.map((t) => [t, ...(trialLabels.get(t) ?? [-1, -1])]),
  };
}

export interface SearchHit {
  label: string;
  href: string;
}

/** Matches a query against the index: a number is a feature id, `trial N` a trial; words match
 * class names, channel names (exactly, case-insensitive) and band names. */
export function searchIndex(ix: SearchIndex, query: string, base: string, limit = 30): SearchHit[] {
  const q = query.trim().toLowerCase();
  if (q === "") return [];
  const feature = (f: SearchIndex["features"][number], why: string): SearchHit => ({
    label: `feature ${f[0]} · ${why}`,
    href: `${base}features/${f[0]}/`,
  });
  const describe = (f: SearchIndex["features"][number]) =>
    [ix.classes[f[1]], ix.channels[f[2]], ix.bands[f[3]]].filter((s) => s !== undefined).join(", ");
  const trial = q.match(/^trial\s*(\d+)$/);
  if (trial) {
    return ix.trials.filter((t) => String(t[0]).startsWith(trial[1])).slice(0, limit).map((t) => ({
      label: `trial ${t[0]} · ${ix.classes[t[1]] ?? "?"}, subject ${t[2]}`,
      href: `${base}trials/${t[0]}/`,
    }));
  }
  if (/^\d+$/.test(q)) {
    return ix.features.filter((f) => String(f[0]).startsWith(q))
      .sort((a, b) => a[0] - b[0]).slice(0, limit).map((f) => feature(f, describe(f)));
  }
  const ch = ix.channels.findIndex((c) => c.toLowerCase() === q);
  const cls = ix.classes.map((c, i) => (c.toLowerCase().includes(q) ? i : -1)).filter((i) =>
    i >= 0
  );
  const band = ix.bands.map((b, i) => (b.toLowerCase().includes(q) ? i : -1)).filter((i) => i >= 0);
  return ix.features
    .filter((f) => f[2] === ch || cls.includes(f[1]) || band.includes(f[3]))
    .sort((a, b) => b[4] - a[4])
    .slice(0, limit)
    .map((f) => feature(f, describe(f)));
}
