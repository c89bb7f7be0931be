/**
 * The bench's "pipeline" section: every stage of `deno task demo --size reve-base` run through the
 * functions the demo calls, on a slice (a few synthetic trials, a few SAE steps) in a temporary
 * folder, at the preset's shapes (REVE-base widths with random weights, block −2, SAE 512 → 8192).
 * Per stage: its rate, the bytes it wrote (measured from its folder) and its peak resident memory;
 * then the full run's wall time PROJECTED from those rates. It lives with the pipeline, not in
 * compute/bench, because it runs the pipeline's own stages (training, the preset).
 */
import { join } from "node:path";
import type { BenchContext, BenchSection } from "../bench/bench_section.ts";
import { formatTable, round } from "../bench/format.ts";
import { measureStageMemory, type StagePeakMemory } from "../bench/stage_memory.ts";
import {
  formatDuration,
  type PipelineProjection,
  projectPipeline,
  type StageProjectionInput,
} from "../bench/pipeline_projection.ts";
import { writeSyntheticDataset } from "../data/synthetic_dataset.ts";
import { SESSIONS, SYNTHETIC_DEFAULTS } from "../data/synthetic.ts";
import { BCIC2A_CLASS_NAMES } from "../data/montage.ts";
import { writeRandomReveModel } from "../reve/random_model.ts";
import { extractDataset } from "../reve/extract_dataset.ts";
import { runFeaturesTask } from "../analysis/features_task.ts";
import { runProbeTask } from "../analysis/probe_task.ts";
import { folderSize } from "../../site/tools/build_site.ts";
import { siteCommand } from "../../site/tools/site_command.ts";
import { EegSaeError } from "../util/errors.ts";
import { DEMO_FEATURE_SETTINGS, DEMO_PROBE_SETTINGS, demoPlan } from "./demo.ts";
import { runTraining } from "./train_run.ts";

export class PipelineBenchError extends EegSaeError {}

const SIZE = "reve-base";
export const PIPELINE_SECTION_NAME = "pipeline";
/** The slice's subjects: two, so the probe's leave-one-subject-out protocol (the demo's) runs. */
const SLICE_SUBJECTS = 2;
/** Trials in a slice come in these steps: subjects × sessions × classes. */
export const SLICE_TRIAL_STEP = SLICE_SUBJECTS * SESSIONS.length * BCIC2A_CLASS_NAMES.length;

export interface PipelineSlice {
  /** Synthetic trials (a multiple of {@link SLICE_TRIAL_STEP}). */
  trials: number;
  /** SAE steps at the preset's batch. */
  saeSteps: number;
  /** Build the site (a page per feature, d_sae pages whatever the slice: the longest stage). */
  site: boolean;
}

export const DEFAULT_PIPELINE_SLICE: PipelineSlice = {
  trials: SLICE_TRIAL_STEP,
  saeSteps: 2,
  site: true,
};

/** The site's pages by what they grow with: one per feature, one per trial, the rest. */
export interface SitePages {
  feature: number;
  trial: number;
  other: number;
}

/** What one stage did on the slice. */
export interface StageMeasurement {
  seconds: number;
  unit: string;
  /** Unit-passes done (trials × passes, tokens, pages). */
  work: number;
  per_second: number;
  bytes_written: number;
  /** What `bytes_per` divides by ("trial", "feature", "page"). */
  bytes_per_unit: string;
  bytes_per: number;
  memory: StagePeakMemory;
}

/**
 * The demo's passes over the trials per stage: extract runs REVE once over every trial; features
 * twice (statistics over every trial, then the union of the features' top trials, which at d_sae
 * 8192 is every trial of a slice and at most every trial of the full run); probe once (pooling).
 */
export const DEMO_TRIAL_PASSES = { data: 1, extract: 1, features: 2, probe: 1 } as const;

function checkSlice(s: PipelineSlice): void {
  if (!Number.isInteger(s.trials) || s.trials < SLICE_TRIAL_STEP || s.trials % SLICE_TRIAL_STEP) {
    throw new PipelineBenchError(
      `--pipeline_trials ${s.trials}: expected a multiple of ${SLICE_TRIAL_STEP} (${SLICE_SUBJECTS} ` +
        `subjects × ${SESSIONS.length} sessions × ${BCIC2A_CLASS_NAMES.length} classes)`,
    );
  }
  if (!Number.isInteger(s.saeSteps) || s.saeSteps < 1) {
    throw new PipelineBenchError(`--pipeline_steps ${s.saeSteps}: expected a whole number ≥ 1`);
  }
}

/**
 * The stages print their progress; the bench prints tables (and, with --json, nothing but the
 * JSON object on stdout), so their console output is dropped while they run.
 */
async function quietly<T>(work: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, error: console.error, warn: console.warn, info: console.info };
  const drop = () => {};
  Object.assign(console, { log: drop, error: drop, warn: drop, info: drop });
  try {
    return await work();
  } finally {
    Object.assign(console, saved);
  }
}

/** Runs one stage quietly, timed, with its peak memory. */
async function timed<T>(
  work: () => Promise<T>,
): Promise<{ result: T; seconds: number; memory: StagePeakMemory }> {
  const t0 = performance.now();
  const { result, memory } = await measureStageMemory(() => quietly(work));
  return { result, seconds: (performance.now() - t0) / 1000, memory };
}

function measurement(
  t: { seconds: number; memory: StagePeakMemory },
  unit: string,
  work: number,
  bytes: number,
  bytesPerUnit: string,
  bytesDivisor: number,
  perSecond = work / t.seconds,
): StageMeasurement {
  return {
    seconds: round(t.seconds, 2),
    unit,
    work,
    per_second: round(perSecond, 4),
    bytes_written: bytes,
    bytes_per_unit: bytesPerUnit,
    bytes_per: Math.round(bytes / bytesDivisor),
    memory: t.memory,
  };
}

const bytesOf = async (dir: string) => (await folderSize(dir)).bytes;

/** Runs the slice through every stage in `tmp`; returns each stage's measurement. */
async function measureStages(
  tmp: string,
  slice: PipelineSlice,
  log: (line: string) => void,
): Promise<{ stages: Record<string, StageMeasurement>; sitePages: SitePages | null }> {
  const plan = demoPlan(SIZE);
  const seed = SYNTHETIC_DEFAULTS.seed;
  const dSae = plan.model.embedDim * plan.sae.expansionFactor;
  const dbPath = join(tmp, "data.lmdb");
  const modelDir = join(tmp, "model");
  const run = join(tmp, "run");
  const stages: Record<string, StageMeasurement> = {};
  const trials = slice.trials;
  const note = (name: string) => {
    const m = stages[name];
    log(
      `  ${name}: ${m.seconds} s, peak RSS ${(m.memory.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB`,
    );
  };

  const data = await timed(() =>
    writeSyntheticDataset(dbPath, {
      ...SYNTHETIC_DEFAULTS,
      seed,
      subjects: SLICE_SUBJECTS,
      trialsPerClass: trials / SLICE_TRIAL_STEP,
    })
  );
  stages.data = measurement(data, "trials", trials, await bytesOf(dbPath), "trial", trials);
  note("data");

  const model = await timed(() =>
    writeRandomReveModel(modelDir, plan.model, seed, { patchEmbedding: "fourier" })
  );
  // Written once whatever the run's size: its rate is one model per its seconds.
  stages.model = measurement(model, "models", 1, await bytesOf(modelDir), "model", 1);
  note("model");

  // The demo's extract: runTraining calls extractDataset with these settings.
  const activations = join(run, "activations");
  const extract = await timed(() =>
    extractDataset({
      model: modelDir,
      source: { dbPath },
      out: activations,
      blockLayer: plan.blockLayer,
      hook: "resid_post",
      scaling: "zscore_clip15",
      batchSize: 32,
      trialsPerShard: 256,
    })
  );
  stages.extract = measurement(
    extract,
    "trials",
    trials * DEMO_TRIAL_PASSES.extract,
    await bytesOf(activations),
    "trial",
    trials,
  );
  note("extract");

  const tokens = slice.saeSteps * plan.sae.trainBatchSizeTokens;
  const train = await timed(() =>
    runTraining({
      activations,
      out: run,
      folderChecked: true,
      config: {
        ...plan.sae,
        totalTrainingTokens: tokens,
        // The slice's few steps are all main phase: a fine-tuning step (W_dec alone) costs less, so
        // the projection from this rate is the longer one.
        finetuningMethod: "none",
        finetuningTokens: 0,
        lrSchedule: "cosine",
        lrEnd: plan.sae.lr / 10,
        seed,
        logEvery: 1,
      },
      argv: [],
      progress: false,
    })
  );
  // The trainer's own rate (its loop, checkpoints included), not the set-up before it.
  stages.train = measurement(
    train,
    "tokens",
    train.result.tokens,
    await bytesOf(join(run, "sae")),
    "feature",
    dSae,
    train.result.tokensPerSecond,
  );
  note("train");

  const saeDir = join(run, "sae");
  const features = await timed(() =>
    runFeaturesTask({
      saeDir,
      modelDir,
      dbPath,
      split: "all",
      out: join(run, "features"),
      ...DEMO_FEATURE_SETTINGS,
      classNames: [...BCIC2A_CLASS_NAMES],
    })
  );
  stages.features = measurement(
    features,
    "trials",
    trials * DEMO_TRIAL_PASSES.features,
    await bytesOf(join(run, "features")),
    "feature",
    dSae,
  );
  note("features");

  const probe = await timed(() =>
    runProbeTask({
      saeDir,
      modelDir,
      dbPath,
      out: run,
      ...DEMO_PROBE_SETTINGS,
      protocol: "all_subjects",
      classNames: [...BCIC2A_CLASS_NAMES],
    })
  );
  stages.probe = measurement(
    probe,
    "trials",
    trials * DEMO_TRIAL_PASSES.probe,
    await bytesOf(join(run, "probe")),
    "trial",
    trials,
  );
  note("probe");

  if (!slice.site) return { stages, sitePages: null };
  const siteDir = join(tmp, "site");
  const site = await timed(() => siteCommand({ runs: [run], out: siteDir, screenshots: false }));
  const built = site.result.runs[0];
  stages.site = measurement(site, "pages", built.pages, built.bytes, "page", built.pages);
  note("site");
  const pages = (await folderSize(siteDir)).files.filter((f) => f.endsWith(".html"));
  const under = (folder: string) => pages.filter((f) => f.startsWith(folder + "/")).length;
  const feature = under("features");
  const trial = under("trials");
  return { stages, sitePages: { feature, trial, other: pages.length - feature - trial } };
}

/**
 * The full run's time from the slice, two ways. `linear`: every stage at its own slice rate, so
 * the slice's fixed costs (loading the model, compiling pipelines, the per-feature work at d_sae
 * 8192) grow with the trials: it reads high. `reve_calibrated`: features and probe go over the
 * trials at the extract's REVE rate per pass, and the rest of their slice time is taken as fixed:
 * it reads low where their per-trial work beyond REVE (the SAE, the statistics) is not small.
 */
export function projectDemo(
  stages: Record<string, StageMeasurement>,
  sliceTrials: number,
  sitePages: SitePages | null,
): { linear: PipelineProjection; reve_calibrated: PipelineProjection } {
  const plan = demoPlan(SIZE);
  const rate = (name: string) => stages[name].per_second;
  const trialStage = (name: keyof typeof DEMO_TRIAL_PASSES): StageProjectionInput => ({
    name,
    unit: "trials",
    units: plan.trials,
    passes: DEMO_TRIAL_PASSES[name],
    perSecond: rate(name),
    fixedSeconds: 0,
  });
  const atReveRate = (name: "features" | "probe"): StageProjectionInput => {
    const passes = DEMO_TRIAL_PASSES[name];
    const reve = (passes * sliceTrials) / rate("extract");
    return {
      ...trialStage(name),
      perSecond: rate("extract"),
      fixedSeconds: Math.max(0, stages[name].seconds - reve),
    };
  };
  const common = (features: StageProjectionInput, probe: StageProjectionInput) => [
    trialStage("data"),
    // Written once whatever the run's size.
    {
      name: "model",
      unit: "models",
      units: 1,
      passes: 1,
      perSecond: rate("model"),
      fixedSeconds: 0,
    },
    trialStage("extract"),
    {
      name: "train",
      unit: "tokens",
      units: plan.sae.totalTrainingTokens,
      passes: 1,
      perSecond: rate("train"),
      fixedSeconds: 0,
    },
    features,
    probe,
    // Feature pages are d_sae on the slice already; trial pages grow with the trials.
    ...(sitePages
      ? [{
        name: "site",
        unit: "pages",
        units: sitePages.feature + sitePages.other +
          Math.round(sitePages.trial * plan.trials / sliceTrials),
        passes: 1,
        perSecond: rate("site"),
        fixedSeconds: 0,
      }]
      : []),
  ];
  return {
    linear: projectPipeline(common(trialStage("features"), trialStage("probe"))),
    reve_calibrated: projectPipeline(common(atReveRate("features"), atReveRate("probe"))),
  };
}

const MIB = 2 ** 20;

function stageTable(stages: Record<string, StageMeasurement>): string {
  const rows = [[
    "stage",
    "work on the slice",
    "seconds",
    "rate",
    "written",
    "written per unit",
    "RSS at start",
    "peak RSS",
  ]];
  for (const [name, m] of Object.entries(stages)) {
    rows.push([
      name,
      `${m.work} ${m.unit}`,
      m.seconds.toFixed(1),
      `${m.per_second.toPrecision(4)} ${m.unit}/s`,
      `${(m.bytes_written / MIB).toFixed(2)} MiB`,
      `${(m.bytes_per / 1024).toFixed(1)} KiB/${m.bytes_per_unit}`,
      `${(m.memory.start_rss_bytes / MIB).toFixed(0)} MiB`,
      `${(m.memory.peak_rss_bytes / MIB).toFixed(0)} MiB` +
      (m.memory.children_peak_bytes
        ? ` (${(m.memory.children_peak_bytes / MIB).toFixed(0)} in children)`
        : ""),
    ]);
  }
  return formatTable(rows);
}

function projectionTable(p: { linear: PipelineProjection; reve_calibrated: PipelineProjection }) {
  const rows = [["stage", "full-run work", "rate (slice)", "linear", "REVE-calibrated"]];
  p.linear.stages.forEach((s, i) => {
    const c = p.reve_calibrated.stages[i];
    rows.push([
      s.name,
      `${s.units.toLocaleString("en")} ${s.unit}` + (s.passes !== 1 ? ` × ${s.passes} passes` : ""),
      `${s.per_second.toPrecision(4)} ${s.unit}/s`,
      formatDuration(s.seconds),
      formatDuration(c.seconds),
    ]);
  });
  rows.push([
    "total",
    "",
    "",
    formatDuration(p.linear.total_seconds),
    formatDuration(p.reve_calibrated.total_seconds),
  ]);
  return formatTable(rows);
}

/** The section, over a slice of the given size. */
export function pipelineSection(slice: PipelineSlice = DEFAULT_PIPELINE_SLICE): BenchSection {
  return {
    name: PIPELINE_SECTION_NAME,
    async run(ctx: BenchContext) {
      checkSlice(slice);
      const plan = demoPlan(SIZE);
      ctx.log(
        `demo --size ${SIZE} stages on a slice: ${slice.trials} synthetic trials ` +
          `(${plan.model.embedDim} wide, ${plan.model.depth} blocks, random weights, ${plan.hookName}), ` +
          `SAE ${plan.model.embedDim} → ${plan.model.embedDim * plan.sae.expansionFactor} for ` +
          `${slice.saeSteps} steps of ${plan.sae.trainBatchSizeTokens} tokens`,
      );
      const tmp = await Deno.makeTempDir({ prefix: "eeg-sae-bench-pipeline-" });
      let measured;
      try {
        measured = await measureStages(tmp, slice, ctx.log);
      } finally {
        await Deno.remove(tmp, { recursive: true });
      }
      const { stages, sitePages } = measured;
      const projected = projectDemo(stages, slice.trials, sitePages);
      ctx.log(stageTable(stages));
      ctx.log(`peak RSS: ${stages.extract.memory.method}`);
      ctx.log(
        `\nPROJECTED wall time of deno task demo --size ${SIZE} (${plan.trials} trials, ` +
          `${plan.sae.totalTrainingTokens} training tokens) on this adapter from the rates above:`,
      );
      ctx.log(projectionTable(projected));
      ctx.log(
        "linear: each stage at its slice rate, so the slice's fixed costs (loading the model, " +
          "compiling pipelines, the per-feature files at d_sae 8192) grow with the trials: reads " +
          "high, the more so the smaller the slice (--pipeline_trials). REVE-calibrated: " +
          "features and probe go over the trials at the extract's rate per pass and the rest of " +
          "their slice time is fixed: reads low by their per-trial work beyond REVE. Features " +
          "counts its second pass over every trial (its top trials' union, at most all); the " +
          "probe's fits at full size are not in the slice." +
          (sitePages ? "" : " The site was not built (--no_pipeline_site): not in the totals."),
      );
      ctx.results.pipeline = {
        size: SIZE,
        slice: { trials: slice.trials, sae_steps: slice.saeSteps, site: slice.site },
        site_pages: sitePages,
        stages,
        projected: {
          label: `PROJECTED from the slice's rates, not measured: deno task demo --size ${SIZE}`,
          trials: plan.trials,
          training_tokens: plan.sae.totalTrainingTokens,
          ...projected,
        },
      };
    },
  };
}
