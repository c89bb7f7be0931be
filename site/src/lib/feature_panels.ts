/// <reference lib="dom" />
/**
 * The plots of one feature (and of one feature in one trial), as markup drawn into a given
 * `Document`: shared by the feature page, the comparison grid and the trial page's feature picker.
 */
import type { FeatureDetail } from "../../../schema/run_folder.ts";
import { colourLegend } from "./colour.ts";
import {
  activationHistogram,
  channelPatchHeatmap,
  patchTimes,
  perClassBars,
  spectralBars,
} from "./plots.ts";
import type { SiteMeta } from "./site_data.ts";
import { topomapSvg } from "./topomap.ts";

const range = (values: number[]): [number, number] => {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
};

export function metaPatchTimes(meta: SiteMeta) {
  return patchTimes(meta.n_patches, meta.patch_size, meta.patch_step, meta.sfreq);
}

/** Channel × time heatmap of a `[C][p]` matrix with its colour legend. */
export function heatmapPanel(
  doc: Document,
  meta: SiteMeta,
  matrix: number[][],
  valueLabel: string,
): string {
  return `<div class="scroll-x">${
    channelPatchHeatmap(doc, matrix, meta.channels, metaPatchTimes(meta), valueLabel)
  }</div>${colourLegend(doc, valueLabel, range(matrix.flat()))}`;
}

/** Scalp map of the per-channel means of a `[C][p]` matrix, with its colour legend. */
export function scalpPanel(
  doc: Document,
  meta: SiteMeta,
  matrix: number[][],
  title: string,
  valueLabel: string,
): string {
  const means = matrix.map((row) => row.reduce((a, b) => a + b, 0) / Math.max(1, row.length));
  const domain = range(means);
  return topomapSvg(meta.channels, meta.positions, means, { title, domain }) +
    colourLegend(doc, valueLabel, domain);
}

export interface FeaturePanels {
  histogram: string;
  perClass: string;
  spectral: string;
  heatmap: string;
  topomap: string;
}

/** Every summary plot of a feature. */
export function featurePanels(doc: Document, meta: SiteMeta, d: FeatureDetail): FeaturePanels {
  return {
    histogram: activationHistogram(doc, d.histogram),
    perClass: perClassBars(doc, d.per_class_mean, meta.class_names),
    spectral: spectralBars(doc, d.spectral.bands, meta.bands),
    heatmap: heatmapPanel(doc, meta, d.channel_patch_mean, "mean activation per token"),
    topomap: scalpPanel(
      doc,
      meta,
      d.channel_patch_mean,
      `Feature ${d.id}: mean activation per channel`,
      "mean activation over time patches",
    ),
  };
}
