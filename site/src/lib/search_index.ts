/** The small JSON index behind the client-side search box (fetched on first use). */
import type { FeatureIndex, TrialTable } from "../../../schema/run_folder.ts";

export interface SearchIndex {
  classes: string[];
  channels: string[];
  bands: string[];
  /** Alive features: `[id, top class index, top channel index, band index, firing frequency]`. */
  features: [number, number, number, number, number][];
  /** Every trial, by index (each has a page): class index, subject, source key. */
  trials: { labels: number[]; subjects: number[]; keys: string[] };
}

export function buildSearchIndex(index: FeatureIndex, trials: TrialTable): SearchIndex {
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
    trials: { labels: trials.labels, subjects: trials.subjects, keys: trials.keys },
  };
}

export interface SearchHit {
  label: string;
  href: string;
}

/** Trials listed after the features for a bare number. */
const TRIALS_FOR_NUMBER = 10;

/** Trial indices matching digits `q`: the trial of exactly that index first, then the others
 * whose index starts with them, ascending. */
function trialsByIndex(n: number, q: string, limit: number): number[] {
  const exact = Number(q);
  const out = exact < n && String(exact) === q ? [exact] : [];
  for (let i = 0; i < n && out.length < limit; i++) {
    if (i !== exact && String(i).startsWith(q)) out.push(i);
  }
  return out;
}

/** Matches a query against the index: a number is a feature id (and a trial index), `trial N`
 * a trial index, a trial's key exactly that trial; words match class names, channel names
 * (exactly, case-insensitive) and band names. */
export function searchIndex(ix: SearchIndex, query: string, base: string, limit = 30): SearchHit[] {
  const raw = query.trim();
  const q = raw.toLowerCase();
  if (q === "") return [];
  const feature = (f: SearchIndex["features"][number], why: string): SearchHit => ({
    label: `feature ${f[0]} · ${why}`,
    href: `${base}features/${f[0]}/`,
  });
  const describe = (f: SearchIndex["features"][number]) =>
    [ix.classes[f[1]], ix.channels[f[2]], ix.bands[f[3]]].filter((s) => s !== undefined).join(", ");
  const trial = (i: number): SearchHit => ({
    label: `trial ${i} · ${ix.classes[ix.trials.labels[i]] ?? "?"}, subject ${
      ix.trials.subjects[i]
    }, ${ix.trials.keys[i]}`,
    href: `${base}trials/${i}/`,
  });
  const nTrials = ix.trials.keys.length;
  const byKey = ix.trials.keys.indexOf(raw);
  if (byKey >= 0) return [trial(byKey)];
  const trialQuery = q.match(/^trial\s*(\d+)$/);
  if (trialQuery) return trialsByIndex(nTrials, trialQuery[1], limit).map(trial);
  if (/^\d+$/.test(q)) {
    const features = ix.features.filter((f) => String(f[0]).startsWith(q))
      .sort((a, b) => a[0] - b[0]).slice(0, limit).map((f) => feature(f, describe(f)));
    return [...features, ...trialsByIndex(nTrials, q, TRIALS_FOR_NUMBER).map(trial)];
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
