/// <reference lib="dom" />
/**
 * Every chart of the site, drawn with Observable Plot into SVG markup: at build time with the
 * build-time DOM (svg_document.ts) and in the browser with the page's own `document`, so the
 * caller passes the `Document` in. Axis labels carry units; continuous colour is viridis/cividis
 * and classes use Okabe–Ito. Plot writes text through the DOM, so text from data files arrives
 * escaped.
 */
import * as Plot from "@observablehq/plot";
import type {
  BandDef,
  FeatureSummary,
  Histogram,
  ProbeAnchor,
  TopKCurve,
  TrainLogRow,
} from "../../../schema/run_folder.ts";
import { CLASS_COLOURS, classColour } from "./colour.ts";

type PlotOptions = Plot.PlotOptions;

function render(doc: Document, options: PlotOptions): string {
  return roundGeometry(
    (Plot.plot({
      document: doc,
      style: { fontSize: "11px", background: "transparent" },
      ...options,
    }) as Element).outerHTML,
  );
}

const GEOMETRY_ATTR = /(\s(?:d|transform|x|y|x1|x2|y1|y2|cx|cy|width|height)=")([^"]*)"/g;

/** Rounds coordinates in geometry attributes to 0.1 px (Plot writes ~15 digits): a third of the
 * size for line-heavy charts. Text content is left untouched. */
export function roundGeometry(svg: string): string {
  return svg.replace(
    GEOMETRY_ATTR,
    (_, attr: string, value: string) =>
      `${attr}${
        value.replace(/-?\d*\.\d+(?:e-?\d+)?/g, (n) => String(Math.round(Number(n) * 10) / 10))
      }"`,
  );
}

export interface NamedSvg {
  title: string;
  svg: string;
}

/** Small multiples of the training log: losses, L0, explained variance, dead fraction. */
export function trainingCurves(doc: Document, log: TrainLogRow[]): NamedSvg[] {
  const series: {
    title: string;
    keys: (keyof TrainLogRow)[];
    label: string;
    log?: boolean;
    /** Fractions start at 0 and show at least 0..0.01, so a flat 0 still has an axis. */
    fraction?: boolean;
  }[] = [
    {
      title: "Loss and MSE",
      keys: ["loss", "mse_loss"],
      label: "loss (normalised units)",
      log: true,
    },
    { title: "L0", keys: ["l0"], label: "active features per token" },
    {
      title: "Explained variance",
      keys: ["explained_variance", "explained_variance_legacy"],
      label: "explained variance (fraction)",
    },
    {
      title: "Dead features",
      keys: ["dead_fraction"],
      label: "dead fraction of features",
      fraction: true,
    },
  ];
  return series.map((s) => {
    const rows = s.keys.flatMap((k) =>
      log.flatMap((r) => {
        const v = r[k];
        return typeof v === "number" && (!s.log || v > 0)
          ? [{ step: r.step, value: v, series: String(k) }]
          : [];
      })
    );
    return {
      title: s.title,
      svg: render(doc, {
        width: 340,
        height: 220,
        marginLeft: 56,
        x: { label: "training step", ticks: 4 },
        y: {
          label: s.label,
          type: s.log ? "log" : "linear",
          grid: true,
          ticks: 5,
          ...(s.fraction ? { domain: [0, Math.max(0.01, ...rows.map((r) => r.value))] } : {}),
        },
        color: { domain: s.keys.map(String), range: CLASS_COLOURS, legend: s.keys.length > 1 },
        marks: [Plot.lineY(rows, { x: "step", y: "value", stroke: "series", strokeWidth: 1.6 })],
      }),
    };
  });
}

/** Log sparsity vs log mean activation of alive features; each dot links to its page. */
export function featureScatter(
  doc: Document,
  features: FeatureSummary[],
  nClasses: number,
  featureHref: (id: number) => string,
  classNames: string[],
): string {
  const alive = features.filter((f) => f.alive && f.sparsity > 0 && f.mean_act > 0);
  return render(doc, {
    width: 900,
    height: 460,
    marginLeft: 60,
    marginBottom: 42,
    x: {
      type: "log",
      label: "firing frequency (fraction of tokens, log scale)",
      grid: true,
      ...logTicks(alive.map((f) => f.sparsity)),
    },
    y: {
      type: "log",
      label: "mean activation (log scale)",
      grid: true,
      ...logTicks(alive.map((f) => f.mean_act)),
    },
    color: {
      type: "linear",
      scheme: "cividis",
      domain: [0, Math.log2(Math.max(2, nClasses))],
    },
    marks: [
      Plot.dot(alive, {
        x: "sparsity",
        y: "mean_act",
        fill: (f: FeatureSummary) => f.class_entropy_top ?? 0,
        stroke: "black",
        strokeWidth: 0.4,
        r: alive.length > 2000 ? 2.5 : 4,
        href: (f: FeatureSummary) => featureHref(f.id),
        title: (f: FeatureSummary) =>
          `feature ${f.id}\nfires on ${(100 * f.sparsity).toPrecision(3)}% of tokens\n` +
          `mean activation ${f.mean_act.toPrecision(3)}\nclass entropy ${
            (f.class_entropy_top ?? 0).toFixed(2)
          } bits` + (f.top_class === null ? "" : `\ntop class ${classNames[f.top_class]}`),
        ariaLabel: "feature",
      }),
    ],
  });
}

/** Log-axis tick options: powers of ten when the values span at least two of them (no minor
 * clutter), else Plot's own ticks (a narrow range would show no decade at all). */
export function logTicks(
  values: number[],
): { ticks?: number[]; tickFormat?: (v: number) => string } {
  if (values.length === 0) return {};
  const min = Math.min(...values);
  const max = Math.max(...values);
  const lo = Math.ceil(Math.log10(min));
  const hi = Math.floor(Math.log10(max));
  if (hi - lo < 1) return {};
  return {
    ticks: Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i)),
    tickFormat: powerOfTen,
  };
}

const SUPERSCRIPT: Record<string, string> = {
  "-": "⁻",
  "0": "⁰",
  "1": "¹",
  "2": "²",
  "3": "³",
  "4": "⁴",
  "5": "⁵",
  "6": "⁶",
  "7": "⁷",
  "8": "⁸",
  "9": "⁹",
};

/** `10⁻³` style labels for log axes. */
export function powerOfTen(v: number): string {
  const e = Math.round(Math.log10(v));
  return `10${String(e).replace(/./g, (ch) => SUPERSCRIPT[ch] ?? ch)}`;
}

/** Histogram of class entropy over top trials (bits): low entropy = class-selective. */
export function selectivityHistogram(
  doc: Document,
  features: FeatureSummary[],
  nClasses: number,
): string {
  const values = features.filter((f) => f.alive && f.class_entropy_top !== null);
  return render(doc, {
    width: 380,
    height: 240,
    x: {
      label: "class entropy over top trials (bits)",
      domain: [0, Math.log2(Math.max(2, nClasses))],
    },
    y: { label: "features", grid: true },
    marks: [
      Plot.rectY(values, {
        ...Plot.binX({ y: "count" }, {
          x: (f: FeatureSummary) => f.class_entropy_top,
          thresholds: 16,
        }),
        fill: "#0072B2",
      }),
      Plot.ruleY([0]),
    ],
  });
}

/** How many alive features have each class as their top class. */
export function topClassCounts(
  doc: Document,
  features: FeatureSummary[],
  classNames: string[],
): string {
  const counts = classNames.map((_, k) =>
    features.filter((f) => f.alive && f.top_class === k).length
  );
  return classBars(doc, counts, classNames, "top class", "alive features", 240);
}

/** One bar per class in its class colour, with the class names along x; `marked` (a class
 * index) gets an outline and a "this trial" label above its bar. */
function classBars(
  doc: Document,
  values: number[],
  classNames: string[],
  xLabel: string,
  yLabel: string,
  height: number,
  marked: number | null = null,
): string {
  const rows = values.map((v, k) => ({ cls: classNames[k], v, colour: classColour(k) }));
  const mark = marked === null ? [] : [rows[marked]];
  return render(doc, {
    width: 380,
    height,
    marginBottom: 40,
    marginTop: marked === null ? 20 : 26,
    marginLeft: 52,
    x: { label: xLabel, domain: classNames, tickRotate: classNames.length > 6 ? -30 : 0 },
    // Rare features have means near 1e-5: "~g" keeps such ticks short ("8e-05") and whole.
    y: { label: yLabel, grid: true, tickFormat: "~g" },
    marks: [
      Plot.barY(rows, { x: "cls", y: "v", fill: "colour" }),
      Plot.barY(mark, { x: "cls", y: "v", fill: "none", stroke: "currentColor", strokeWidth: 2 }),
      Plot.text(mark, { x: "cls", y: "v", text: () => "this trial", dy: -8 }),
      Plot.ruleY([0]),
    ],
  });
}

/** Probe accuracy against features kept per class, with chance and the published anchor. */
export function topKCurve(
  doc: Document,
  curves: TopKCurve[],
  nClasses: number,
  anchor: ProbeAnchor,
): string {
  const rows = curves.flatMap((c) =>
    c.points.map((p) => ({
      k: p.k === null ? "all" : String(p.k),
      balanced_accuracy: p.balanced_accuracy,
      ranking: c.ranking === "oracle" ? "oracle (true-class mask)" : `ranked by ${c.ranking}`,
    }))
  );
  const ks = [...new Set(rows.map((r) => r.k))];
  return render(doc, {
    width: 520,
    height: 280,
    marginRight: 120,
    x: { type: "point", domain: ks, label: "features kept per class (K)" },
    y: { label: "balanced accuracy (fraction)", domain: [0, 1], grid: true },
    color: { legend: true, range: CLASS_COLOURS },
    marks: [
      Plot.ruleY([1 / nClasses], { stroke: "gray", strokeDasharray: "4,3" }),
      Plot.text([1 / nClasses], {
        x: () => ks.at(-1),
        y: (d: number) => d,
        text: () => "chance",
        dx: 8,
        textAnchor: "start",
        fill: "gray",
      }),
      Plot.ruleY([anchor.balanced_accuracy], { stroke: "#D55E00", strokeDasharray: "6,3" }),
      Plot.text([anchor.balanced_accuracy], {
        x: () => ks.at(-1),
        y: (d: number) => d,
        text: () => `${anchor.label} (${anchor.balanced_accuracy})`,
        dx: 8,
        textAnchor: "start",
        fill: "#D55E00",
        lineWidth: 14,
      }),
      Plot.line(rows, { x: "k", y: "balanced_accuracy", stroke: "ranking", strokeWidth: 1.8 }),
      Plot.dot(rows, { x: "k", y: "balanced_accuracy", fill: "ranking", r: 3 }),
    ],
  });
}

/** The activation histogram of one feature (non-zero activations; zeros reported aside). */
export function activationHistogram(doc: Document, h: Histogram): string {
  const bins = h.counts.map((count, i) => ({ x1: h.edges[i], x2: h.edges[i + 1], count }));
  return render(doc, {
    width: 380,
    height: 230,
    x: { label: h.log10 ? "log10 activation (non-zero tokens)" : "activation (non-zero tokens)" },
    y: { label: "tokens", grid: true },
    marks: [
      Plot.rectY(bins, { x1: "x1", x2: "x2", y: "count", fill: "#0072B2", inset: 0.5 }),
      Plot.ruleY([0]),
    ],
  });
}

/** Mean activation per class, in class colours. */
export function perClassBars(
  doc: Document,
  perClass: number[],
  classNames: string[],
  marked: number | null = null,
): string {
  return classBars(doc, perClass, classNames, "class", "mean activation per token", 230, marked);
}

/** Start and end (s) of each time patch. */
export function patchTimes(nPatches: number, patchSize: number, patchStep: number, sfreq: number) {
  return Array.from({ length: nPatches }, (_, i) => ({
    start: (i * patchStep) / sfreq,
    end: (i * patchStep + patchSize) / sfreq,
  }));
}

const patchLabel = (t: { start: number; end: number }) =>
  `${t.start.toFixed(2)}–${t.end.toFixed(2)}`;

/** Channel × time-patch heatmap of a `[C][p]` matrix (viridis). */
export function channelPatchHeatmap(
  doc: Document,
  matrix: number[][],
  channels: string[],
  times: { start: number; end: number }[],
  valueLabel: string,
): string {
  const cells = matrix.flatMap((row, c) =>
    row.map((v, i) => ({ ch: channels[c], t: patchLabel(times[i]), v }))
  );
  return render(doc, {
    width: Math.max(320, 90 + times.length * 44),
    height: 40 + channels.length * 17,
    marginLeft: 50,
    marginBottom: 40,
    padding: 0.04,
    x: {
      label: "time patch (s from window start)",
      domain: times.map(patchLabel),
      tickRotate: times.length > 8 ? -40 : 0,
    },
    y: { label: "channel", domain: channels },
    color: { type: "linear", scheme: "viridis" },
    marks: [
      Plot.cell(cells, {
        x: "t",
        y: "ch",
        fill: "v",
        title: (d: { ch: string; t: string; v: number }) =>
          `${d.ch}, ${d.t} s: ${d.v.toPrecision(3)} ${valueLabel}`,
      }),
    ],
  });
}

/** Band power ratio at the feature's top activations vs the dataset average (1 = average). */
export function spectralBars(
  doc: Document,
  ratios: Record<string, number>,
  bands: BandDef[],
): string {
  const rows = bands
    .filter((b) => ratios[b.name] !== undefined)
    .map((b) => ({ band: `${b.name} ${b.range[0]}–${b.range[1]} Hz`, ratio: ratios[b.name] }));
  return render(doc, {
    width: 380,
    height: 40 + rows.length * 30,
    marginLeft: 120,
    x: { label: "band power ÷ dataset average (ratio)", grid: true },
    y: { label: null, domain: rows.map((r) => r.band) },
    marks: [
      Plot.barX(rows, { x: "ratio", y: "band", fill: "#009E73" }),
      Plot.ruleX([1], { stroke: "currentColor", strokeDasharray: "4,3" }),
    ],
  });
}

/** Min/max decimation of a trace to about `buckets` × 2 points, keeping peaks. */
export function decimate(values: number[], buckets: number): { i: number; v: number }[] {
  if (values.length <= buckets * 2) return values.map((v, i) => ({ i, v }));
  const out: { i: number; v: number }[] = [];
  const size = values.length / buckets;
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor(b * size);
    const hi = Math.min(values.length, Math.floor((b + 1) * size));
    let min = lo;
    let max = lo;
    for (let i = lo; i < hi; i++) {
      if (values[i] < values[min]) min = i;
      if (values[i] > values[max]) max = i;
    }
    out.push(...(min < max ? [min, max] : [max, min]).map((i) => ({ i, v: values[i] })));
  }
  return out;
}

export interface TraceOptions {
  channels: string[];
  sfreq: number;
  times: { start: number; end: number }[];
  /** Feature activation per token `[C][p]`: highlighted behind the trace. */
  tokenActs?: number[][];
  width?: number;
  rowHeight?: number;
  /** Draw only these channel indices (in this order); default all. */
  only?: number[];
  /** Min/max buckets per channel. */
  buckets?: number;
}

/** Stacked raw EEG traces with the tokens where the feature fires shaded. */
export function eegTraces(doc: Document, eeg: number[][], opts: TraceOptions): string {
  const rows = opts.only ?? eeg.map((_, c) => c);
  const abs = rows.flatMap((c) => eeg[c]).map(Math.abs).sort((a, b) => a - b);
  const spacing = 2.4 * (abs[Math.floor(abs.length * 0.95)] || 1);
  const offset = (r: number) => -r * spacing;
  const name = (r: number) => opts.channels[rows[r]];
  const points = rows.flatMap((c, r) =>
    decimate(eeg[c], opts.buckets ?? 120).map((p) => ({
      t: p.i / opts.sfreq,
      y: p.v + offset(r),
      ch: name(r),
    }))
  );
  const acts = opts.tokenActs ?? [];
  const maxAct = Math.max(1e-12, ...rows.flatMap((c) => acts[c] ?? []));
  const shaded = rows.flatMap((c, r) =>
    (acts[c] ?? []).flatMap((a, i) =>
      a > 0
        ? [{
          x1: opts.times[i].start,
          x2: opts.times[i].end,
          y1: offset(r) - spacing / 2,
          y2: offset(r) + spacing / 2,
          a: a / maxAct,
          label: `${name(r)} patch ${i}: activation ${a.toPrecision(3)}`,
        }]
        : []
    )
  );
  return render(doc, {
    width: opts.width ?? 760,
    height: 50 + rows.length * (opts.rowHeight ?? 22),
    marginLeft: 46,
    marginTop: 10,
    x: { label: "time (s)", grid: true },
    y: {
      label: null,
      ticks: rows.map((_, r) => offset(r)),
      tickFormat: (v: number) => name(Math.round(-v / spacing)) ?? "",
      domain: [offset(rows.length - 1) - spacing, spacing],
    },
    marks: [
      Plot.rect(shaded, {
        x1: "x1",
        x2: "x2",
        y1: "y1",
        y2: "y2",
        fill: "#E69F00",
        fillOpacity: (d: { a: number }) => 0.15 + 0.6 * d.a,
        title: "label",
      }),
      Plot.line(points, { x: "t", y: "y", z: "ch", stroke: "currentColor", strokeWidth: 0.7 }),
    ],
  });
}

/** The `n` channels where a `[C][p]` activation map is largest (summed), in montage order. */
export function strongestChannels(acts: number[][], n: number): number[] {
  return acts
    .map((row, c) => ({ c, s: row.reduce((a, b) => a + b, 0) }))
    .sort((a, b) => b.s - a.s || a.c - b.c)
    .slice(0, n)
    .map((x) => x.c)
    .sort((a, b) => a - b);
}

/** A point of a trial's rank/sum curve; `id` is set for the features named in the trial file. */
export interface RankedFeature {
  rank: number;
  sum: number;
  id: number | null;
}

/** The trial's features by summed activation (rank vs sum, log–log); the top `labelled` are
 * drawn large, numbered by rank and linked (their names go in a list beside the plot, so labels
 * never overlap). */
export function trialFeatureDistribution(
  doc: Document,
  points: RankedFeature[],
  featureHref: (id: number) => string,
  labelled = 10,
): string {
  const rows = points.filter((p) => p.sum > 0);
  const top = rows.filter((p) => p.id !== null && p.rank <= labelled);
  return render(doc, {
    width: 480,
    height: 280,
    x: {
      type: "log",
      label: "feature rank in this trial (log scale)",
      ...logTicks(rows.map((r) => r.rank)),
    },
    y: {
      type: "log",
      label: "summed activation over tokens (log scale)",
      grid: true,
      ...logTicks(rows.map((r) => r.sum)),
    },
    marks: [
      Plot.line(rows, { x: "rank", y: "sum", stroke: "#0072B2", strokeOpacity: 0.5 }),
      Plot.dot(rows, { x: "rank", y: "sum", r: 2, fill: "#0072B2" }),
      Plot.dot(top, {
        x: "rank",
        y: "sum",
        r: 4.5,
        fill: "#D55E00",
        href: (d: RankedFeature) => featureHref(d.id!),
        title: (d: RankedFeature) => `rank ${d.rank}: feature ${d.id}, sum ${d.sum.toPrecision(3)}`,
      }),
    ],
  });
}
