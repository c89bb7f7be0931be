/// <reference lib="dom" />
/** `/compare/?f=12,40,311`: the chosen features side by side, one column each, the same plots
 * in the same rows, fetched from `data/features/`. Without `?f` the stored comparison list. */
import { compareHref, parseFeatureList, readCompareList } from "./compare_list.ts";
import { type FeaturePanels, featurePanels } from "./feature_panels.ts";
import { el, type SiteClient } from "./site_fetch.ts";

const ROWS: { key: keyof FeaturePanels; title: string }[] = [
  { key: "histogram", title: "Activation histogram" },
  { key: "perClass", title: "Mean activation per class" },
  { key: "heatmap", title: "Channel × time" },
  { key: "topomap", title: "Scalp map" },
  { key: "spectral", title: "Spectral signature" },
];

export async function showComparePage(doc: Document, _root: HTMLElement, client: SiteClient) {
  const win = doc.defaultView!;
  const query = new URL(win.location.href).searchParams.get("f");
  const asked = query === null
    ? readCompareList(win.localStorage, client.base)
    : parseFeatureList(query);
  const meta = await client.meta();
  const alive = new Set(meta.alive);
  const ids = asked.filter((id) => alive.has(id));
  const skipped = asked.filter((id) => !alive.has(id));
  const note = doc.getElementById("compare-note");
  if (note) {
    note.textContent = ids.length === 0
      ? "No features chosen: use “Add to comparison” on feature pages, or open /compare/?f=12,40."
      : `${ids.length} feature${ids.length === 1 ? "" : "s"} side by side.` +
        (skipped.length ? ` Not shown (dead or not in this run): ${skipped.join(", ")}.` : "");
  }
  const details = await Promise.all(ids.map((id) => client.feature(id)));
  const grid = doc.getElementById("compare-grid");
  if (!grid) return;
  grid.style.setProperty("--columns", String(Math.max(1, ids.length)));
  grid.replaceChildren(...details.map((d) => {
    const panels = featurePanels(doc, meta, d);
    const others = ids.filter((x) => x !== d.id);
    const column = el(
      doc,
      "section",
      null,
      { class: "compare-col", "data-feature": String(d.id) },
      el(
        doc,
        "h2",
        null,
        {},
        el(doc, "a", `Feature ${d.id}`, { href: `${client.base}features/${d.id}/` }),
        doc.createTextNode(" "),
        el(doc, "a", "remove", { href: compareHref(client.base, others), class: "remove" }),
      ),
    );
    for (const row of ROWS) {
      const plot = el(doc, "div", null, { class: "plot" });
      plot.innerHTML = panels[row.key];
      column.append(
        el(doc, "figure", null, { class: `cmp-${row.key}` }, el(doc, "h3", row.title), plot),
      );
    }
    return column;
  }));
}
