/**
 * A deterministic, realistic fixture run folder (every file of `report_types.ts`), so the report
 * site and its tests can be built without the real pipeline. Features have a home channel, class
 * and band, with spatially smooth maps (by electrode distance), so plots look like real ones.
 * Text fields deliberately contain HTML metacharacters to test escaping on the site.
 */
import { join } from "node:path";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import { writeOutputManifest } from "../io/output_folder.ts";
import { Rng } from "../data/rng.ts";
import { BCIC2A_CHANNELS, lookupPositions } from "../data/montage.ts";
import {
  type BandDef,
  type FeatureChunk,
  type FeatureDetail,
  featureFilePath,
  type FeatureIndex,
  type FeatureSummary,
  type ProbeMetrics,
  type ProbeResult,
  REVE_LINEAR_PROBE_ANCHOR,
  type RunInfo,
  type SaeCfg,
  type TopTrial,
  type TrainLogRow,
  type TrialDetail,
} from "./report_types.ts";

export interface FixtureOptions {
  seed?: number;
  d_sae?: number;
  n_trials?: number;
  /** Every `dead_every`-th feature (offset 3) is dead. */
  dead_every?: number;
  /** Instead of `dead_every`: this fraction of features is dead, chosen by a hash of the id. */
  dead_fraction?: number;
  /** Top trials kept per feature. */
  top_k?: number;
  /** Top trials per feature that carry their EEG inline (the rest link to trial files). */
  inline_eeg?: number;
  /** Trials `0 .. trial_pages-1` get a `features/trials/<i>.json` file (default all); top trials
   * without one carry their EEG inline, as the contract requires. */
  trial_pages?: number;
  /** Use `features/chunks/` with this chunk size instead of `features/f/`. */
  chunk_size?: number;
  /** Run name recorded in run.json. */
  name?: string;
}

export const FIXTURE_CLASSES = ["left hand", "right hand", "feet", "tongue <&>"];
const SFREQ = 200;
const PATCH = 200;
const STEP = 180;
const N_SAMPLES = 800;
const N_PATCHES = Math.floor((N_SAMPLES - PATCH) / STEP) + 1;
const D_IN = 512;
export const FIXTURE_BANDS: BandDef[] = [
  { name: "delta", range: [0.5, 4] },
  { name: "theta", range: [4, 8] },
  { name: "alpha/mu", range: [8, 13] },
  { name: "beta", range: [13, 30] },
  { name: "gamma", range: [30, 45] },
];

/** 4 significant digits: what the site files store for raw EEG. */
const sig4 = (v: number) => Number(v.toPrecision(4));
const r6 = (v: number) => Number(v.toPrecision(6));

/** Writes the fixture run into `dir` (created if needed) and returns its index. */
export async function writeFixtureRun(
  dir: string,
  opts: FixtureOptions = {},
): Promise<FeatureIndex> {
  const seed = opts.seed ?? 7;
  const dSae = opts.d_sae ?? 64;
  const nTrials = opts.n_trials ?? 40;
  const deadEvery = opts.dead_every ?? 7;
  const topK = Math.min(opts.top_k ?? 8, nTrials);
  const inlineEeg = opts.inline_eeg ?? 1;
  const trialPages = Math.min(opts.trial_pages ?? nTrials, nTrials);
  const rng = new Rng(seed);
  const channels = [...BCIC2A_CHANNELS];
  const C = channels.length;
  const nClasses = FIXTURE_CLASSES.length;
  const pos = lookupPositions(channels);
  const dist = (a: number, b: number) =>
    Math.hypot(
      pos[3 * a] - pos[3 * b],
      pos[3 * a + 1] - pos[3 * b + 1],
      pos[3 * a + 2] - pos[3 * b + 2],
    );

  const trials = Array.from({ length: nTrials }, (_, t) => ({
    label: t % nClasses,
    subject: 1 + (Math.floor(t / nClasses) % 9),
  }));
  const eegOf = (t: number): number[][] => {
    const r = new Rng(seed * 1000 + t);
    const label = trials[t].label;
    // Planted structure: mu (10 Hz) over C3 for right hand, C4 for left hand, Cz for feet.
    const focus = ["C4", "C3", "Cz", "Fz"][label];
    return channels.map((ch, c) => {
      const amp = 0.3 +
        (ch === focus ? 1.2 : 0.2 * Math.exp(-dist(c, channels.indexOf(focus)) / 0.03));
      const phase = r.uniform(0, 2 * Math.PI);
      return Array.from(
        { length: N_SAMPLES },
        (_, i) => sig4(amp * Math.sin(2 * Math.PI * 10 * i / SFREQ + phase) + 0.25 * r.normal()),
      );
    });
  };

  // Per feature: alive flag, home channel/class/band, spatial width, overall scale.
  const feats = Array.from({ length: dSae }, (_, id) => ({
    id,
    alive: opts.dead_fraction === undefined
      ? id % deadEvery !== 3
      : Math.imul(id + 1, 0x9e3779b1) >>> 0 >= opts.dead_fraction * 4294967296,
    channel: rng.int(C),
    cls: rng.int(nClasses),
    band: rng.int(FIXTURE_BANDS.length),
    width: rng.uniform(0.02, 0.06),
    scale: Math.exp(rng.uniform(-2, 1.5)),
    selectivity: rng.uniform(0.2, 3),
    sparsity: Math.pow(10, rng.uniform(-3.5, -0.5)),
    patch: rng.int(N_PATCHES),
  }));
  const alive = feats.filter((f) => f.alive);
  const tokenActs = (f: (typeof feats)[number], t: number): number[][] => {
    const boost = trials[t].label === f.cls ? f.selectivity : 1;
    const r = new Rng(seed * 7919 + f.id * 131 + t);
    return channels.map((_, c) =>
      Array.from({ length: N_PATCHES }, (_, i) => {
        const spatial = Math.exp(-dist(c, f.channel) / f.width);
        const temporal = Math.exp(-Math.abs(i - f.patch));
        const v = f.scale * boost * spatial * temporal * (0.5 + r.next()) - 0.05 * f.scale;
        return r6(Math.max(0, v));
      })
    );
  };
  const entropy = (p: number[]) => {
    const s = p.reduce((a, b) => a + b, 0);
    return s <= 0 ? 0 : -p.reduce((a, x) => (x > 0 ? a + (x / s) * Math.log2(x / s) : a), 0);
  };
  const argmax = (a: number[]) => a.reduce((best, x, i) => (x > a[best] ? i : best), 0);

  const details = new Map<number, FeatureDetail>();
  const summaries: FeatureSummary[] = feats.map((f) => {
    const perClass = FIXTURE_CLASSES.map((_, k) =>
      f.alive ? r6(f.scale * 0.1 * (k === f.cls ? f.selectivity : 1)) : 0
    );
    if (!f.alive) {
      return {
        id: f.id,
        alive: false,
        sparsity: 0,
        trial_sparsity: 0,
        mean_act: 0,
        max_act: 0,
        class_entropy_top: null,
        class_entropy_all: null,
        per_class_mean: perClass,
        top_class: null,
        top_channel: null,
        dominant_band: null,
      };
    }
    const scored = trials.map((_, t) => {
      const acts = tokenActs(f, t);
      return { t, acts, value: Math.max(...acts.flat()) };
    }).sort((a, b) => b.value - a.value || a.t - b.t);
    const top = scored.slice(0, topK);
    const map = channels.map((_, c) =>
      Array.from(
        { length: N_PATCHES },
        (_, i) => r6(scored.reduce((a, s) => a + s.acts[c][i], 0) / nTrials),
      )
    );
    const bands: Record<string, number> = {};
    FIXTURE_BANDS.forEach((b, j) => {
      bands[b.name] = r6(j === f.band ? 1.5 + f.selectivity : 0.7 + 0.4 * rng.next());
    });
    const topTrials: TopTrial[] = top.map((s, j) => ({
      trial: s.t,
      value: r6(s.value),
      label: trials[s.t].label,
      subject: trials[s.t].subject,
      key: `S${trials[s.t].subject}/T/${s.t}`,
      token_acts: s.acts,
      eeg: j < inlineEeg || s.t >= trialPages ? eegOf(s.t) : null,
    }));
    const bins = 20;
    const counts = Array.from(
      { length: bins },
      (_, b) => Math.round(1000 * f.sparsity * Math.exp(-((b - 12) ** 2) / 18)),
    );
    details.set(f.id, {
      id: f.id,
      alive: true,
      histogram: {
        edges: Array.from(
          { length: bins + 1 },
          (_, b) => r6(-3 + (4 * b) / bins + Math.log10(f.scale)),
        ),
        counts,
        log10: true,
        zero_count: Math.round(1000 * (1 - f.sparsity)),
      },
      per_class_mean: perClass,
      channel_patch_mean: map,
      spectral: {
        bands,
        per_channel: Object.fromEntries(
          FIXTURE_BANDS.map((b) => [
            b.name,
            channels.map((_, c) =>
              r6(bands[b.name] * (0.6 + 0.8 * Math.exp(-dist(c, f.channel) / 0.05)))
            ),
          ]),
        ),
      },
      top_trials: topTrials,
      neighbours: Array.from({ length: Math.min(5, alive.length - 1) }, (_, j) => {
        const other = alive[(alive.indexOf(f) + 1 + j * 3) % alive.length];
        return { id: other.id, cosine: r6(0.8 - 0.1 * j) };
      }).filter((n) => n.id !== f.id),
    });
    const classMass = FIXTURE_CLASSES.map((_, k) =>
      scored.filter((s) => trials[s.t].label === k).reduce((a, s) => a + s.value, 0)
    );
    return {
      id: f.id,
      alive: true,
      sparsity: r6(f.sparsity),
      trial_sparsity: r6(Math.min(1, f.sparsity * N_PATCHES * C)),
      mean_act: r6(f.scale * f.sparsity),
      max_act: r6(scored[0].value),
      class_entropy_top: r6(
        entropy(FIXTURE_CLASSES.map((_, k) => top.filter((s) => trials[s.t].label === k).length)),
      ),
      class_entropy_all: r6(entropy(classMass)),
      per_class_mean: perClass,
      top_class: argmax(perClass),
      top_channel: argmax(map.map((row) => row.reduce((a, b) => a + b, 0))),
      dominant_band: FIXTURE_BANDS[argmax(FIXTURE_BANDS.map((b) => bands[b.name]))].name,
    };
  });

  const layout = opts.chunk_size
    ? { kind: "chunks" as const, chunk_size: opts.chunk_size }
    : { kind: "per_feature" as const };
  const index: FeatureIndex = {
    d_sae: dSae,
    n_alive: alive.length,
    class_names: FIXTURE_CLASSES,
    channels,
    n_patches: N_PATCHES,
    sfreq: SFREQ,
    patch_size: PATCH,
    patch_step: STEP,
    n_trials: nTrials,
    trial_files: Array.from({ length: trialPages }, (_, t) => t),
    bands: FIXTURE_BANDS,
    layout,
    reconstruction: {
      mse: 0.0123,
      cosine: 0.961,
      l0: 17.5,
      explained_variance: 0.874,
      dead_fraction: r6(1 - alive.length / dSae),
    },
    features: summaries,
  };
  const fdir = join(dir, "features");
  await writeJsonAtomic(join(fdir, "index.json"), index);
  if (layout.kind === "per_feature") {
    for (const [id, d] of details) {
      await writeJsonCompact(join(fdir, featureFilePath(layout, id)), d);
    }
  } else {
    const chunks = new Map<number, FeatureChunk>();
    for (const [id, d] of details) {
      const k = Math.floor(id / layout.chunk_size);
      const chunk = chunks.get(k) ?? { chunk: k, chunk_size: layout.chunk_size, features: [] };
      chunk.features.push(d);
      chunks.set(k, chunk);
    }
    for (const [id, chunk] of chunks) {
      await writeJsonCompact(join(fdir, featureFilePath(layout, id * layout.chunk_size)), chunk);
    }
  }

  for (let t = 0; t < trialPages; t++) {
    const perFeature = alive.map((f) => ({ f, acts: tokenActs(f, t) }));
    const tokenTop = channels.map((_, c) =>
      Array.from({ length: N_PATCHES }, (_, i) =>
        perFeature
          .map((x) => [x.f.id, x.acts[c][i]] as [number, number])
          .filter((p) => p[1] > 0)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 5))
    );
    const totals = perFeature.map((x) => {
      const flat = x.acts.flat();
      return {
        id: x.f.id,
        sum: r6(flat.reduce((a, b) => a + b, 0)),
        max: r6(Math.max(...flat)),
        n_tokens: flat.filter((v) => v > 0).length,
      };
    }).filter((x) => x.n_tokens > 0).sort((a, b) => b.sum - a.sum);
    const trial: TrialDetail = {
      trial: t,
      label: trials[t].label,
      subject: trials[t].subject,
      key: `S${trials[t].subject}/T/${t}`,
      eeg: eegOf(t),
      token_top_features: tokenTop,
      feature_totals: totals,
      channel_top_features: channels.map((_, c) =>
        perFeature
          .map((x) => [x.f.id, r6(x.acts[c].reduce((a, b) => a + b, 0))] as [number, number])
          .filter((p) => p[1] > 0)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 10)
      ),
      reconstruction: {
        mse: r6(0.01 + 0.005 * rng.next()),
        cosine: r6(0.95 + 0.03 * rng.next()),
        l0: r6(totals.length / 2),
      },
    };
    await writeJsonCompact(join(fdir, "trials", `${t}.json`), trial);
  }
  // Written last, as `deno task features` does: the site reads only complete feature folders.
  await writeOutputManifest(fdir, "features", {});

  await writeJsonAtomic(
    join(dir, "run.json"),
    fixtureRunInfo(opts.name ?? 'fixture <run> & "co"', nTrials),
  );
  await writeJsonAtomic(join(dir, "sae", "cfg.json"), fixtureSaeCfg(dSae));
  await writeFileAtomic(
    join(dir, "train_log.jsonl"),
    fixtureTrainLog(rng).map((r) => JSON.stringify(r)).join("\n") + "\n",
  );
  for (const p of fixtureProbes(rng)) {
    await writeJsonAtomic(join(dir, "probe", `${p.name}.json`), p);
  }
  return index;
}

function writeJsonCompact(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value));
}

function fixtureRunInfo(name: string, nTrials: number): RunInfo {
  return {
    name,
    created_at: "2026-01-01T00:00:00.000Z",
    command: "deno task demo --synthetic --block_layer -2 --note '<b>not bold</b>'",
    flags: { block_layer: -2, expansion_factor: 16, l1_coefficient: 1e-4, synthetic: true },
    versions: { deno: "2.9.6", eeg_sae: "fixture" },
    adapter: { vendor: "mesa", architecture: "llvmpipe", device: "", description: "software" },
    data: {
      kind: "synthetic",
      path: null,
      dataset: "BCIC2a-shaped <synthetic>",
      subjects: [1, 2, 3, 4, 5, 6, 7, 8, 9],
      sessions: ["T"],
      split: "all",
      n_trials: nTrials,
      channels: [...BCIC2A_CHANNELS],
      class_names: FIXTURE_CLASSES,
      seed: 7,
    },
    preprocessing: {
      sfreq: SFREQ,
      source_sfreq: 250,
      scaling: "uv_div100",
      window_s: [0, 4],
      n_samples: N_SAMPLES,
    },
    model: {
      path: "models/reve-tiny",
      config: {
        embed_dim: D_IN,
        depth: 22,
        heads: 8,
        head_dim: 64,
        patch_size: PATCH,
        patch_overlap: 20,
      },
      random_weights: true,
    },
    hook_name: "blocks.20.hook_resid_post",
    block_layer: -2,
  };
}

function fixtureSaeCfg(dSae: number): SaeCfg {
  return {
    d_in: D_IN,
    d_sae: dSae,
    architecture: "relu",
    hook_name: "blocks.20.hook_resid_post",
    hook_layer: 20,
    model_name: "reve-base",
    dtype: "float32",
    device: "webgpu",
    apply_b_dec_to_input: true,
    normalize_activations: "none",
    expansion_factor: dSae / D_IN,
    l1_coefficient: 1e-4,
    lr: 3e-4,
    total_training_tokens: 500000,
    use_ghost_grads: true,
  };
}

function fixtureTrainLog(rng: Rng): TrainLogRow[] {
  return Array.from({ length: 50 }, (_, i) => {
    const step = (i + 1) * 100;
    const decay = Math.exp(-i / 12);
    const mse = r6(0.02 + 0.5 * decay + 0.005 * rng.next());
    const l1 = r6(0.3 + 0.6 * (1 - decay));
    return {
      step,
      tokens: step * 32 * 88,
      lr: 3e-4,
      l1_coefficient: 1e-4 * Math.min(1, step / 1000),
      loss: r6(mse + 1e-4 * l1),
      mse_loss: mse,
      sparsity_loss: r6(1e-4 * l1),
      aux_loss: 0,
      l0: r6(10 + 80 * decay),
      l1,
      explained_variance: r6(0.9 - 0.8 * decay),
      explained_variance_legacy: r6(0.88 - 0.8 * decay),
      cosine_similarity: r6(0.97 - 0.5 * decay),
      norm_ratio: r6(0.95 - 0.3 * decay),
      dead_fraction: r6(0.14 * (1 - decay)),
      tokens_per_second: r6(20000 + 1000 * rng.next()),
      feature_density: {
        log10_bins: [-6, -5, -4, -3, -2, -1],
        counts: [0, 1, 3, 10, 30, 14].map((n) => Math.round(n * (1 + decay))),
        never: Math.round(9 * (1 - decay)),
      },
    };
  });
}

function metrics(acc: number, rng: Rng): ProbeMetrics {
  const n = FIXTURE_CLASSES.length;
  const confusion = Array.from(
    { length: n },
    (_, i) => Array.from({ length: n }, (_, j) => (i === j ? Math.round(72 * acc) : rng.int(12))),
  );
  return {
    accuracy: acc,
    balanced_accuracy: r6(acc - 0.01),
    kappa: r6((acc - 0.25) / 0.75),
    weighted_f1: r6(acc - 0.02),
    confusion,
  };
}

function fixtureProbes(rng: Rng): ProbeResult[] {
  const protocol = {
    kind: "cbramod_split" as const,
    description: "train subjects 1–5, validate 6–7, test 8–9",
    train_subjects: [1, 2, 3, 4, 5],
    val_subjects: [6, 7],
    test_subjects: [8, 9],
  };
  const ks = [1, 2, 5, 10, 20, 50, 100, null];
  const curve = (top: number) =>
    ks.map((k, i) => ({
      k,
      n_features: k === null ? 55 : Math.min(55, k * 4),
      accuracy: r6(0.25 + (top - 0.25) * (1 - Math.exp(-i / 2))),
      balanced_accuracy: r6(0.25 + (top - 0.26) * (1 - Math.exp(-i / 2))),
    }));
  const base = {
    protocol,
    class_names: FIXTURE_CLASSES,
    settings: { solver: "lbfgs", l2: 1e-2, standardise: true, max_iter: 500 },
    converged: true,
    metrics_std: null,
    folds: [],
    anchor: REVE_LINEAR_PROBE_ANCHOR,
  };
  return [
    {
      ...base,
      name: "sae_mean_max",
      input: "sae_mean_max",
      metrics: metrics(0.48, rng),
      topk: [
        { ranking: "mean", points: curve(0.48) },
        { ranking: "selectivity", points: curve(0.5) },
      ],
      spliced: { original: metrics(0.52, rng), spliced: metrics(0.47, rng) },
    },
    {
      ...base,
      name: "reve_mean",
      input: "reve_mean",
      metrics: metrics(0.52, rng),
      topk: [],
      spliced: null,
    },
  ];
}
