/// <reference lib="dom" />
/**
 * Colour scales that work for colour-blind readers: viridis/cividis for continuous values and the
 * Okabe–Ito palette for classes, plus a continuous legend drawn as SVG (Plot's own ramp legend
 * needs a canvas, which the build-time DOM does not have). The caller passes the `Document` Plot
 * draws into: the build-time one or the browser's.
 */
import * as Plot from "@observablehq/plot";
import { EegSaeError } from "../../../compute/util/errors.ts";

export class ColourScaleError extends EegSaeError {}

export type ContinuousScheme = "viridis" | "cividis";

/** Okabe–Ito: distinguishable under the common colour-vision deficiencies. */
export const CLASS_COLOURS = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#F0E442",
  "#000000",
];

export function classColour(k: number): string {
  return CLASS_COLOURS[k % CLASS_COLOURS.length];
}

const LUT_SIZE = 256;
const luts = new Map<ContinuousScheme, [number, number, number][]>();

/** Maps values in `domain` to `[r, g, b]` bytes (a 256-step table: fast for image fields). */
export function rgbScale(
  scheme: ContinuousScheme,
  domain: [number, number],
): (v: number) => [number, number, number] {
  let lut = luts.get(scheme);
  if (!lut) {
    const scale = Plot.scale({ color: { type: "linear", scheme, domain: [0, LUT_SIZE - 1] } });
    lut = Array.from({ length: LUT_SIZE }, (_, i) => parseColour(String(scale.apply(i))));
    luts.set(scheme, lut);
  }
  const table = lut;
  const [lo, hi] = domain;
  const span = hi - lo || 1;
  return (v) =>
    table[Math.max(0, Math.min(LUT_SIZE - 1, Math.round(((v - lo) / span) * (LUT_SIZE - 1))))];
}

function parseColour(c: string): [number, number, number] {
  if (c.startsWith("#") && c.length === 7) {
    return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
  }
  const m = c.match(/rgb\((\d+),\s*(\d+),\s*(\d+)\)/);
  if (!m) throw new ColourScaleError(`colour scale returned "${c}", expected #rrggbb or rgb()`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** A horizontal colour legend with an axis and a label (units included by the caller). */
export function colourLegend(
  doc: Document,
  label: string,
  domain: [number, number],
  scheme: ContinuousScheme = "viridis",
  width = 260,
): string {
  const [lo, hi] = domain[0] === domain[1] ? [domain[0], domain[0] + 1] : domain;
  const n = 24;
  const steps = Array.from({ length: n }, (_, i) => ({
    x1: lo + ((hi - lo) * i) / n,
    x2: lo + ((hi - lo) * (i + 1)) / n,
  }));
  return (
    Plot.plot({
      document: doc,
      width,
      height: 52,
      marginTop: 6,
      marginBottom: 30,
      marginLeft: 12,
      marginRight: 16,
      x: { domain: [lo, hi], label, labelAnchor: "center", labelArrow: "none", ticks: 4 },
      y: { axis: null },
      color: { type: "linear", scheme, domain: [lo, hi] },
      marks: [
        Plot.rectX(steps, { x1: "x1", x2: "x2", y1: 0, y2: 1, fill: (d) => (d.x1 + d.x2) / 2 }),
      ],
    }) as Element
  ).outerHTML;
}
