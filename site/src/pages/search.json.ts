import { buildSearchIndex } from "../lib/search_index.ts";
import { siteRun, trialDetail } from "../lib/run_data.ts";

/** `search.json`: the client-side search index, built once. */
export function GET(): Response {
  const { index } = siteRun();
  const labels = new Map<number, [number, number]>();
  for (const t of index.trial_files) {
    const d = trialDetail(t);
    if (d) labels.set(t, [d.label, d.subject]);
  }
  return new Response(JSON.stringify(buildSearchIndex(index, labels)));
}
