/**
 * `deno task demo`: the whole pipeline on the embedded default (synthetic BCIC2a-shaped data and a
 * random-weight REVE-architecture model), or on real inputs when `--model`/`--db_path` are given.
 * Every stage writes its files into the run folder through the same code the separate tasks use:
 * data (LMDB writer → LMDB reader) → REVE extract at block_layer −2 → SAE training → feature
 * statistics → probe and top-K masking → the report site.
 */
import { join, resolve } from "node:path";
import { getGpu } from "../gpu/mod.ts";
import { writeSyntheticDataset } from "../data/synthetic_dataset.ts";
import { convertRecordings } from "../data/recording_lmdb.ts";
import type { RecordingSourceOptions } from "../data/recording_source.ts";
import { SYNTHETIC_DEFAULTS } from "../data/synthetic.ts";
import { BCIC2A_CLASS_NAMES } from "../data/montage.ts";
import type { ScalingMode } from "../data/trials.ts";
import { parseReveConfig, REVE_BASE_CONFIG, type ReveConfig } from "../reve/config.ts";
import { hookName } from "../reve/hooks.ts";
import { SAE_CONFIG_DEFAULTS, type SaeArchitecture, type SaeTrainConfig } from "../sae/config.ts";
import { RANDOM_REVE_DEFAULTS, writeRandomReveModel } from "../reve/random_model.ts";
import { runTraining } from "./train_run.ts";
import { runFeaturesTask } from "../analysis/features_task.ts";
import { type ProbeTaskOptions, runProbeTask } from "../analysis/probe_task.ts";
import { DEFAULT_PROBE_FIT } from "../analysis/probe_fit.ts";
import { siteCommand } from "../../site/tools/site_command.ts";
import { EegSaeError } from "../util/errors.ts";
import { sourceInputs } from "../data/open_source.ts";
import { writeOutputInPlace } from "../io/output_folder.ts";

export type DemoSize = "tiny" | "small" | "full" | "reve-base";

export const DEMO_SIZE_NAMES: readonly DemoSize[] = ["tiny", "small", "full", "reve-base"];

export class DemoError extends EegSaeError {}

/** Folds of the within-subject probe when the data hold one subject. */
export const DEFAULT_CV_FOLDS = 5;

export interface DemoOptions {
  out: string;
  size: DemoSize;
  /** A REVE folder (config.json + model.safetensors); a random one is made when absent. */
  model?: string;
  /** An LMDB of trials; synthetic data is made when neither it nor `recordings` is given. */
  dbPath?: string;
  /** Recording files or folders (GDF, EDF, BDF, BNCI MAT), converted to an LMDB in the run folder. */
  recordings?: string[];
  /** How trials are cut from the recordings. */
  recordingOptions?: RecordingSourceOptions;
  /** Within-subject probe folds; used, and chosen automatically, when there is one subject. */
  cvFolds?: number;
  scaling: ScalingMode;
  seed: number;
  /** Build the site (the slowest stage after training). */
  site: boolean;
  /** SAE settings that replace the size preset's. */
  overrides?: DemoOverrides;
  argv: string[];
}

/** The SAE settings `demo` lets a user set over any size preset. */
export type DemoOverrides = Partial<
  Pick<SaeTrainConfig, "architecture" | "expansionFactor" | "totalTrainingTokens" | "l1Coefficient">
>;

interface SizePreset {
  subjects: number;
  trialsPerClass: number;
  /** config.json keys overriding DEMO_MODEL. */
  model: Record<string, number>;
  expansionFactor: number;
  totalTrainingTokens: number;
  trainBatchSizeTokens: number;
  /**
   * Higher than the earlier Python pipeline's 3e-4 / 1e-4 at the demo model's sizes: they train
   * for minutes, not hours. `reve-base` keeps the earlier pipeline's for the architectures it has
   * no `tuned` settings for.
   */
  lr: number;
  /** 1e-3 on the demo model: 3e-3 held explained variance near 0.2 (measured on `small`). */
  l1Coefficient: number;
  /** The SAE type; default relu, the earlier Python pipeline's. */
  architecture?: SaeArchitecture;
  /**
   * Settings measured for an architecture at this size (BENCHMARKS.md), over the ones above and the
   * defaults (SAE_CONFIG_DEFAULTS) when that architecture is the one trained.
   */
  tuned?: Partial<Record<SaeArchitecture, PresetTuning>>;
}

type PresetTuning = Partial<
  Pick<
    SaeTrainConfig,
    | "lr"
    | "k"
    | "deadFeatureWindow"
    | "l1Coefficient"
    | "l1WarmUpSteps"
    | "finetuningMethod"
    | "trainBatchSizeTokens"
  >
>;

/** The share of the training tokens a preset's decoder fine-tuning takes (the run's tail). */
const FINETUNING_SHARE = 0.1;

/**
 * batchtopk at d_sae 8192, measured on the demo model (d_in 64) over the full synthetic data and on a
 * random REVE-base (d_in 512) over a slice (BENCHMARKS.md, "SAE at d_sae 8192"): k 64 from the
 * fitted start, AuxK on features silent for 25 steps (the default window, 1,000 steps, is longer
 * than these runs), lr 2e-3 (at d_in 512, 1e-3 trailed: explained variance 0.41 against 0.54 at
 * step 30).
 */
const BATCHTOPK_AT_8192: PresetTuning = { lr: 2e-3, k: 64, deadFeatureWindow: 25 };

/**
 * relu at d_sae 8192 (BENCHMARKS.md, "relu at d_sae 8192 in steps of 512"): the L1 needs steps
 * more than tokens to sparsify, so the preset's tokens go in steps of 512 (8× the steps of 4,096);
 * ghost grads on features silent for 5 steps (at 25 a fifth of the features ended dead on the
 * REVE-base slice); the last tenth fine-tunes the decoder. The l1 coefficient is per width:
 * measured, 0.822 explained variance at L0 62 with 1.7 % dead on the demo model's full data (l1
 * 6e-3), 0.864 at L0 72 with 4.1 % dead on the REVE-base slice (l1 3e-4).
 */
const RELU_AT_8192: PresetTuning = {
  lr: 2e-3,
  trainBatchSizeTokens: 512,
  deadFeatureWindow: 5,
  finetuningMethod: "decoder",
};

/** The demo model: REVE's architecture at a width the software adapter runs in seconds. */
const DEMO_MODEL: Record<string, number | boolean> = {
  embed_dim: 64,
  depth: 4,
  heads: 4,
  head_dim: 16,
  mlp_dim_ratio: 2.66,
  use_geglu: true,
  freqs: 4,
  patch_size: 200,
  patch_overlap: 20,
  noise_ratio: 0.0025,
};

/**
 * Metres of electrode coordinate per unit of the position MLP's input: a third of the spacing of
 * neighbouring 10-20 electrodes (C3–C1–Cz are ~3–4 cm apart), so neighbours get distinct codes.
 */
const DEMO_ELECTRODE_SCALE_M = 0.01;

export const DEMO_SIZES: Record<DemoSize, SizePreset> = {
  tiny: {
    subjects: 3,
    trialsPerClass: 4,
    model: { embed_dim: 32, depth: 3, heads: 2, head_dim: 16 },
    expansionFactor: 8,
    totalTrainingTokens: 120_000,
    trainBatchSizeTokens: 1024,
    lr: 5e-3,
    l1Coefficient: 1e-3,
  },
  small: {
    subjects: 9,
    trialsPerClass: 16,
    model: {},
    expansionFactor: 16,
    totalTrainingTokens: 600_000,
    trainBatchSizeTokens: 2048,
    lr: 5e-3,
    l1Coefficient: 1e-3,
  },
  full: {
    subjects: 9,
    trialsPerClass: SYNTHETIC_DEFAULTS.trialsPerClass,
    model: {},
    expansionFactor: 16,
    totalTrainingTokens: 2_000_000,
    trainBatchSizeTokens: 4096,
    lr: 2e-3,
    l1Coefficient: 1e-3,
    // Measured at d_sae 8192 on the full data (BENCHMARKS.md, "SAE at d_sae 8192"): batchtopk ends
    // at explained variance 0.95, L0 65, 1 of 8,192 features dead; relu needs 8× the steps for it.
    architecture: "batchtopk",
    tuned: {
      batchtopk: BATCHTOPK_AT_8192,
      relu: { ...RELU_AT_8192, l1Coefficient: 6e-3, l1WarmUpSteps: 200 },
    },
  },
  // The earlier Python pipeline's job: reve-base's widths on all of BCIC2a (5,184 trials). Its relu
  // (l1 1e-4, lr 3e-4, steps of 4,096) was still at L0 3,269 of 8,192 after 25 of 123 steps on a
  // slice, so relu, the default, takes the settings measured at these widths.
  "reve-base": {
    subjects: 9,
    trialsPerClass: SYNTHETIC_DEFAULTS.trialsPerClass,
    model: {
      embed_dim: REVE_BASE_CONFIG.embedDim,
      depth: REVE_BASE_CONFIG.depth,
      heads: REVE_BASE_CONFIG.heads,
      head_dim: REVE_BASE_CONFIG.headDim,
    },
    expansionFactor: 16,
    totalTrainingTokens: 500_000,
    trainBatchSizeTokens: 4096,
    lr: 3e-4,
    l1Coefficient: 1e-4,
    tuned: {
      batchtopk: BATCHTOPK_AT_8192,
      relu: { ...RELU_AT_8192, l1Coefficient: 3e-4, l1WarmUpSteps: 44 },
    },
  },
};

/** The feature and probe settings the demo runs with (the pipeline bench measures these too). */
export const DEMO_FEATURE_SETTINGS = {
  batchSize: 16,
  topK: 10,
  siteTopTrials: 5,
  trialChunkSize: 64,
  neighbours: 8,
  chunkSize: 256,
  skipBad: false,
} as const;

export const DEMO_PROBE_SETTINGS = {
  batchSize: 16,
  inputs: ["sae_mean_max", "reve_mean"],
  fit: DEFAULT_PROBE_FIT,
  kValues: [1, 2, 5, 10, 20, 50, 100, "all"],
  rankings: ["mean", "selectivity"],
  oracle: false,
  skipBad: false,
} satisfies Partial<ProbeTaskOptions>;

/** The block the demo reads, counted from the end as the earlier pipeline's `block_layer`. */
const DEMO_BLOCK_LAYER = -2;

/** What a size preset and the overrides give: the model, the synthetic trials and the SAE. */
export interface DemoPlan {
  /** The random model's config (used only when no `--model` is given). */
  model: ReveConfig;
  subjects: number;
  trialsPerClass: number;
  /** Synthetic trials: subjects × 2 sessions × 4 classes × trialsPerClass. */
  trials: number;
  blockLayer: number;
  /** The hook of the random model (a given `--model` resolves block_layer against its own depth). */
  hookName: string;
  sae:
    & Pick<
      SaeTrainConfig,
      | "architecture"
      | "expansionFactor"
      | "totalTrainingTokens"
      | "trainBatchSizeTokens"
      | "lr"
      | "l1Coefficient"
    >
    & PresetTuning
    & Partial<Pick<SaeTrainConfig, "finetuningTokens">>;
}

/** Resolves a size preset and the user's overrides into what the demo runs. */
export function demoPlan(size: DemoSize, overrides: DemoOverrides = {}): DemoPlan {
  const preset = DEMO_SIZES[size];
  const model = parseReveConfig({ ...DEMO_MODEL, ...preset.model }, `demo --size ${size} config`);
  const defined = Object.fromEntries(
    Object.entries(overrides).filter(([, v]) => v !== undefined),
  ) as DemoOverrides;
  const architecture = defined.architecture ?? preset.architecture ??
    SAE_CONFIG_DEFAULTS.architecture;
  const tuned = preset.tuned?.[architecture];
  const totalTrainingTokens = defined.totalTrainingTokens ?? preset.totalTrainingTokens;
  return {
    model,
    subjects: preset.subjects,
    trialsPerClass: preset.trialsPerClass,
    trials: preset.subjects * 2 * BCIC2A_CLASS_NAMES.length * preset.trialsPerClass,
    blockLayer: DEMO_BLOCK_LAYER,
    hookName: hookName(model.depth + DEMO_BLOCK_LAYER, "hook_resid_post"),
    sae: {
      architecture,
      expansionFactor: preset.expansionFactor,
      totalTrainingTokens: preset.totalTrainingTokens,
      trainBatchSizeTokens: preset.trainBatchSizeTokens,
      lr: preset.lr,
      l1Coefficient: preset.l1Coefficient,
      ...tuned,
      ...(tuned?.finetuningMethod === "decoder"
        ? { finetuningTokens: Math.round(FINETUNING_SHARE * totalTrainingTokens) }
        : {}),
      ...defined,
    },
  };
}

export interface DemoResult {
  out: string;
  siteDir: string | null;
  seconds: number;
}

function stage(n: number, total: number, what: string): void {
  console.log(`\n[${n}/${total}] ${what}`);
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = performance.now();
  const out = resolve(o.out);
  // Fail before writing anything when there is no adapter.
  await getGpu();
  const stages = o.site ? 6 : 5;
  const randomWeights = o.model === undefined;
  const recordings = o.recordings ?? [];
  if (o.dbPath && recordings.length) {
    throw new DemoError("give --db_path or --recordings, not both");
  }
  const synthetic = o.dbPath === undefined && recordings.length === 0;
  return await writeOutputInPlace(
    out,
    {
      madeBy: "demo",
      flag: "--out",
      inputs: { model: o.model, ...sourceInputs({ dbPath: o.dbPath, recordings }) },
    },
    () => runStages(o, out, { stages, randomWeights, synthetic, started }),
  );
}

async function runStages(
  o: DemoOptions,
  out: string,
  s: { stages: number; randomWeights: boolean; synthetic: boolean; started: number },
): Promise<DemoResult> {
  const { stages, randomWeights, synthetic, started } = s;
  const recordings = o.recordings ?? [];
  const plan = demoPlan(o.size, o.overrides);
  stage(
    1,
    stages,
    synthetic
      ? "synthetic BCIC2a-shaped data → LMDB"
      : `data: ${o.dbPath ?? `recordings ${recordings.join(", ")} → LMDB`}`,
  );
  let dbPath = o.dbPath;
  let subjects = 0;
  let classNames = [...BCIC2A_CLASS_NAMES];
  if (recordings.length) {
    dbPath = join(out, "data", "recordings.lmdb");
    const summary = await convertRecordings(recordings, dbPath, o.recordingOptions);
    subjects = summary.subjects;
    classNames = summary.classes;
    console.log(
      `  ${summary.trials} trials from ${summary.files.length} files at ${summary.sfreq} Hz ` +
        `written to ${dbPath}`,
    );
  }
  // One subject cannot be left out: the probe cross-validates within it instead.
  const withinSubject = subjects === 1 || o.cvFolds !== undefined;
  const cvFolds = o.cvFolds ?? DEFAULT_CV_FOLDS;
  if (!dbPath) {
    dbPath = join(out, "data", "synthetic.lmdb");
    const summary = await writeSyntheticDataset(dbPath, {
      ...SYNTHETIC_DEFAULTS,
      seed: o.seed,
      subjects: plan.subjects,
      trialsPerClass: plan.trialsPerClass,
    });
    console.log(
      `  ${summary.trials} trials (${plan.subjects} subjects × 2 sessions × 4 classes × ` +
        `${plan.trialsPerClass}) with planted mu/beta desynchronisation over C3/C4/Cz, ` +
        `written to ${dbPath} in ${summary.seconds.toFixed(1)} s; ground truth in ` +
        `${join(dbPath, "ground_truth.json")}`,
    );
  }

  stage(
    2,
    stages,
    randomWeights ? "REVE-architecture model with random weights" : `model: ${o.model}`,
  );
  let model = o.model;
  if (!model) {
    model = join(out, "model");
    const cfg = plan.model;
    const random = {
      ...RANDOM_REVE_DEFAULTS,
      patchEmbedding: "fourier" as const,
      electrodeScaleM: DEMO_ELECTRODE_SCALE_M,
    };
    await writeRandomReveModel(model, cfg, o.seed, random);
    console.log(
      `  RANDOM weights (embed_dim ${cfg.embedDim}, depth ${cfg.depth}, heads ${cfg.heads}) in the ` +
        `real HuggingFace layout at ${model}. Nothing is trained: the patch embedding is a random ` +
        `filter bank (Hann-windowed sinusoids at random frequencies ${random.fourierHz[0]}–` +
        `${random.fourierHz[1]} Hz and random phases, so token magnitudes carry band power the ` +
        `way a real EEG encoder's first-layer filters do), the position MLP's spatial weights ` +
        `are drawn per ${random.electrodeScaleM} m of electrode coordinate so neighbouring ` +
        `electrodes get distinct position codes, and every other weight is drawn like ` +
        `PyTorch's default initialisation. The features describe what this random model keeps ` +
        `of the signal, not what pretrained REVE learned: pass --model PATH/reve-base for the ` +
        `real thing.`,
    );
  }

  stage(3, stages, `REVE activations at block_layer ${plan.blockLayer}, then SAE training`);
  await runTraining({
    reve: {
      source: { dbPath },
      model,
      blockLayer: plan.blockLayer,
      hook: "resid_post",
      scaling: o.scaling,
      batchSize: 32,
    },
    out,
    folderChecked: true,
    config: {
      ...plan.sae,
      lrSchedule: "cosine",
      lrWarmUpSteps: 10,
      lrEnd: plan.sae.lr / 10,
      seed: o.seed,
      logEvery: 5,
      checkpointEvery: 50,
    },
    argv: o.argv,
    command: ["deno", "task", "demo", ...o.argv].join(" "),
    progress: true,
  });
  const saeDir = join(out, "sae");
  stage(4, stages, "feature statistics and spectral signatures");
  await runFeaturesTask({
    saeDir,
    modelDir: model,
    dbPath,
    split: "all",
    out: join(out, "features"),
    ...DEMO_FEATURE_SETTINGS,
    classNames,
  });

  stage(
    5,
    stages,
    withinSubject
      ? `linear probe (within-subject ${cvFolds}-fold cross-validation, stratified, folds ` +
        "contiguous in time: " +
        (o.cvFolds === undefined ? "chosen because there is one subject" : "--cv_folds") +
        ") and top-K class-specific masking"
      : "linear probe (leave-one-subject-out, every subject in turn) and top-K class-specific masking",
  );
  const results = await runProbeTask({
    saeDir,
    modelDir: model,
    dbPath,
    out,
    ...DEMO_PROBE_SETTINGS,
    // Every fold, mean ± std: one held-out subject is only 8·trialsPerClass trials.
    protocol: withinSubject ? "within_subject_cv" : "all_subjects",
    cvFolds: withinSubject ? cvFolds : undefined,
    classNames,
  });
  for (const r of results) {
    const m = r.metrics;
    const std = r.metrics_std ? ` ± ${r.metrics_std.balanced_accuracy.toFixed(3)}` : "";
    console.log(
      `  ${r.name}: balanced accuracy ${m.balanced_accuracy.toFixed(3)}${std} (chance ${
        (1 / classNames.length).toFixed(2)
      }), ` +
        `kappa ${m.kappa.toFixed(3)}`,
    );
  }

  let siteDir: string | null = null;
  if (o.site) {
    stage(6, stages, "report site");
    siteDir = join(out, "site");
    await siteCommand({ runs: [out], out: siteDir, screenshots: false });
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`\ndemo finished in ${seconds.toFixed(0)} s; run folder ${out}`);
  if (siteDir) {
    console.log(`serve the report: deno task serve --dir ${siteDir}`);
    console.log(`then open http://127.0.0.1:8000/ (features at /features/<id>/)`);
  }
  return { out, siteDir, seconds };
}
