/// <reference lib="dom" />
/** The feature page's plots, drawn in the browser from `data/features/<id>.json`, the top
 * trials' EEG from `data/eeg/` with the tokens where the feature fires shaded. */
import type { FeatureDetail, TopTrial } from "../../../schema/run_folder.ts";
import { attachCompareButton } from "./compare_list.ts";
import { featurePanels, metaPatchTimes } from "./feature_panels.ts";
import { fmt } from "./links.ts";
import { eegTraces, strongestChannels } from "./plots.ts";
import type { SiteMeta } from "./site_data.ts";
import { el, fill, type SiteClient } from "./site_fetch.ts";

/** Top trials drawn with their EEG traces (the rest are listed), and channels drawn per trial. */
const TRACED_TRIALS = 3;
const TRACED_CHANNELS = 6;

/** Dense `[C][p]` activations from sparse `[token, activation]` pairs. */
export function denseTokenActs(pairs: [number, number][], meta: SiteMeta): number[][] {
  const m = meta.channels.map(() => new Array<number>(meta.n_patches).fill(0));
  for (const [tok, v] of pairs) m[Math.floor(tok / meta.n_patches)][tok % meta.n_patches] = v;
  return m;
}

export async function showFeaturePage(doc: Document, root: HTMLElement, client: SiteClient) {
  const id = Number(root.dataset.feature);
  attachCompareButton(doc, client.base, id);
  const [meta, d] = await Promise.all([client.meta(), client.feature(id)]);
  const panels = featurePanels(doc, meta, d);
  fill(doc, "histogram-plot", panels.histogram);
  fill(doc, "per-class-plot", panels.perClass);
  fill(doc, "spectral-plot", panels.spectral);
  fill(doc, "heatmap-plot", panels.heatmap);
  fill(doc, "topomap-plot", panels.topomap);
  const zero = doc.getElementById("histogram-note");
  if (zero) zero.textContent = `${d.histogram.zero_count} tokens with activation 0 are not shown.`;
  topTrialTable(doc, client.base, meta, d);
  neighbours(doc, client.base, d);
  await traces(doc, client, meta, d);
}

const trialHref = (base: string, t: number) => `${base}trials/${t}/`;

function topTrialTable(doc: Document, base: string, meta: SiteMeta, d: FeatureDetail) {
  const body = doc.getElementById("top-trials-body");
  body?.replaceChildren(...d.top_trials.map((t, r) =>
    el(
      doc,
      "tr",
      null,
      {},
      el(doc, "td", String(r + 1)),
      el(doc, "td", null, {}, el(doc, "a", String(t.trial), { href: trialHref(base, t.trial) })),
      el(doc, "td", meta.class_names[t.label] ?? "–"),
      el(doc, "td", String(t.subject)),
      el(doc, "td", null, {}, el(doc, "code", t.key)),
      el(doc, "td", fmt(t.value), { class: "num" }),
    )
  ));
}

function neighbours(doc: Document, base: string, d: FeatureDetail) {
  doc.getElementById("neighbours")?.replaceChildren(...d.neighbours.map((n) =>
    el(
      doc,
      "li",
      null,
      {},
      el(doc, "a", `feature ${n.id}`, { href: `${base}features/${n.id}/` }),
      doc.createTextNode(" "),
      el(doc, "span", `cosine ${fmt(n.cosine)}`),
    )
  ));
}

async function traces(doc: Document, client: SiteClient, meta: SiteMeta, d: FeatureDetail) {
  const box = doc.getElementById("traces");
  if (!box) return;
  const traced = d.top_trials.filter((t): t is TopTrial & { token_acts: [number, number][] } =>
    t.token_acts !== null
  ).slice(0, TRACED_TRIALS);
  const eegs = await Promise.all(traced.map((t) => client.eeg(t.trial)));
  const times = metaPatchTimes(meta);
  box.replaceChildren(...traced.map((t, j) => {
    const acts = denseTokenActs(t.token_acts, meta);
    const svg = eegTraces(doc, eegs[j], {
      channels: meta.channels,
      sfreq: meta.sfreq,
      times,
      tokenActs: acts,
      only: strongestChannels(acts, TRACED_CHANNELS),
    });
    const figure = el(
      doc,
      "figure",
      null,
      { class: "trace" },
      el(
        doc,
        "h3",
        null,
        {},
        el(doc, "a", `Trial ${t.trial}`, { href: trialHref(client.base, t.trial) }),
        doc.createTextNode(
          `: ${meta.class_names[t.label] ?? "–"}, subject ${t.subject}, max activation ${
            fmt(t.value)
          }`,
        ),
      ),
    );
    const plot = el(doc, "div", null, { class: "scroll-x" });
    plot.innerHTML = svg;
    figure.append(
      plot,
      el(
        doc,
        "figcaption",
        `The ${TRACED_CHANNELS} channels where feature ${d.id} fires most in this trial (all ` +
          `channels on its trial page); preprocessed EEG in model input units. Shading marks the ` +
          `tokens where the feature fires, darker = stronger.`,
      ),
    );
    return figure;
  }));
}
