/// <reference lib="dom" />
/** The trial page, drawn in the browser from its `data/trial_acts/<k>.json` entry and EEG: the
 * raw EEG, the activation distribution, the strongest activation per token, the channel
 * inspector and a feature picker showing one feature's map in this trial. */
import { MAP_LEVELS, type TrialActs } from "../../../schema/run_folder.ts";
import { attachChannelInspector } from "./channel_inspector.ts";
import { heatmapPanel, metaPatchTimes, scalpPanel } from "./feature_panels.ts";
import { fmt } from "./links.ts";
import { eegTraces, perClassBars, type RankedFeature, trialFeatureDistribution } from "./plots.ts";
import type { SiteMeta } from "./site_data.ts";
import { el, fill, type SiteClient } from "./site_fetch.ts";

const LABELLED = 10;

/** The rank/sum curve of a trial: its top features by id, then the sampled tail. */
export function rankedFeatures(acts: TrialActs): RankedFeature[] {
  return [
    ...acts.top.map(([id, sum], r) => ({ rank: r + 1, sum, id })),
    ...acts.tail.map(([rank, sum]) => ({ rank, sum, id: null })),
  ];
}

/** In-trial map `j` of `acts` as `[C][p]` activations. */
export function inTrialMap(acts: TrialActs, j: number, meta: SiteMeta): number[][] {
  const max = acts.top[j][2];
  const q = acts.maps[j];
  return meta.channels.map((_, c) =>
    Array.from({ length: meta.n_patches }, (_, i) => (q[c * meta.n_patches + i] / MAP_LEVELS) * max)
  );
}

export async function showTrialPage(doc: Document, root: HTMLElement, client: SiteClient) {
  const trial = Number(root.dataset.trial);
  const label = Number(root.dataset.label);
  const [meta, acts, eeg] = await Promise.all([
    client.meta(),
    client.trialActs(trial),
    client.eeg(trial),
  ]);
  const featureHref = (id: number) => `${client.base}features/${id}/`;
  fill(
    doc,
    "trial-eeg-plot",
    eegTraces(doc, eeg, {
      channels: meta.channels,
      sfreq: meta.sfreq,
      times: metaPatchTimes(meta),
      tokenActs: acts.token_max,
      width: 1100,
      rowHeight: 26,
      buckets: 250,
    }),
  );
  fill(
    doc,
    "distribution-plot",
    trialFeatureDistribution(doc, rankedFeatures(acts), featureHref, LABELLED),
  );
  doc.getElementById("distribution-list")?.replaceChildren(
    ...acts.top.slice(0, LABELLED).map(([id, sum]) =>
      el(
        doc,
        "li",
        null,
        {},
        el(doc, "a", `feature ${id}`, { href: featureHref(id) }),
        el(doc, "span", ` sum ${fmt(sum)}`),
      )
    ),
  );
  const note = doc.getElementById("distribution-note");
  if (note) {
    note.textContent = `${acts.n_active} features fire in this trial; the top ${
      Math.min(LABELLED, acts.top.length)
    } (orange, by rank) are listed beside the plot and link to their pages.`;
  }
  fill(
    doc,
    "tokens-plot",
    heatmapPanel(doc, meta, acts.token_max, "strongest activation in the token"),
  );
  doc.getElementById("top-features-body")?.replaceChildren(
    ...acts.top.slice(0, LABELLED).map(([id, sum, max, n]) =>
      el(
        doc,
        "tr",
        null,
        {},
        el(doc, "td", null, {}, el(doc, "a", String(id), { href: featureHref(id) })),
        el(doc, "td", fmt(sum), { class: "num" }),
        el(doc, "td", fmt(max), { class: "num" }),
        el(doc, "td", String(n), { class: "num" }),
      )
    ),
  );
  attachChannelInspector(doc, acts.channel_top, client.base);
  attachFeaturePicker(doc, client, meta, acts, label);
}

function attachFeaturePicker(
  doc: Document,
  client: SiteClient,
  meta: SiteMeta,
  acts: TrialActs,
  label: number,
) {
  const select = doc.getElementById("feature-picker") as HTMLSelectElement | null;
  if (!select) return;
  select.replaceChildren(...acts.maps.map((_, j) => {
    const [id, sum] = acts.top[j];
    return el(doc, "option", `feature ${id} (rank ${j + 1}, sum ${fmt(sum)})`, {
      value: String(j),
    });
  }));
  const show = async () => {
    const j = Number(select.value);
    const id = acts.top[j][0];
    const map = inTrialMap(acts, j, meta);
    const link = doc.getElementById("picked-link") as HTMLAnchorElement | null;
    if (link) {
      link.href = `${client.base}features/${id}/`;
      link.textContent = `feature ${id}`;
    }
    fill(doc, "picked-map", heatmapPanel(doc, meta, map, `feature ${id} activation in this trial`));
    fill(
      doc,
      "picked-scalp",
      scalpPanel(
        doc,
        meta,
        map,
        `Feature ${id} in this trial: mean activation per channel`,
        "mean activation over time patches",
      ),
    );
    const d = await client.feature(id);
    // A later choice may have replaced this one while the file loaded.
    if (Number(select.value) === j) {
      fill(doc, "picked-class", perClassBars(doc, d.per_class_mean, meta.class_names, label));
    }
  };
  select.addEventListener("change", () => void show());
  if (acts.maps.length > 0) void show();
}
