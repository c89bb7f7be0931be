/**
 * The SAE training loop: one CommandBatch and one submit per step, metrics read back only on log
 * steps, train_log.jsonl, a progress bar with ETA, atomic checkpoints every checkpoint_every steps
 * and at the end, and an exact `--resume` (weights, Adam moments, counters and the activation
 * store's position all come back from train_state).
 */
import { join } from "node:path";
import { Progress } from "../util/progress.ts";
import { CommandBatch, getGpu, type Gpu, readback, upload } from "../gpu/mod.ts";
import { writeFileAtomic, writeJsonAtomic } from "../io/atomic.ts";
import type { SaeKernelConfig } from "../../kernels/sae_common.ts";
import {
  auxModeOf,
  dSaeOf,
  FITTED_DECODER_INIT_NORM,
  RESAMPLE_ENCODER_SCALE,
  resampleDue,
  type SaeTrainConfig,
  totalSteps,
  validateSaeConfig,
} from "./config.ts";
import { resampleDeadFeatures } from "./resample.ts";
import type { ActivationSource } from "./activation_store.ts";
import { fitDecoderInitNorm, initialStart, initSaeWeights } from "./init.ts";
import { SaeGpu, type SaeStepHyper, type SaeWeights } from "./sae.ts";
import { densePathFor, ghostMatmulFor } from "../../kernels/sae_dense.ts";
import { isFinetuningStep, learningRate, sparsityCoefficient } from "./schedule.ts";
import {
  deadFraction,
  densityHistogram,
  explainedVarianceWarning,
  type StepMetrics,
  stepMetrics,
} from "./metrics.ts";
import {
  checkpointConfig,
  CheckpointError,
  loadTrainState,
  saeDir,
  saveCheckpoint,
  type TrainState,
} from "./checkpoint.ts";
import { EegSaeError } from "../util/errors.ts";
import { pathExists } from "../util/path_exists.ts";

export class NonFiniteError extends EegSaeError {}

export interface TrainOptions {
  /** Run folder (sae/, train_log.jsonl). */
  out: string;
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** Stop (after checkpointing) once this many steps are done: simulates a killed run in tests. */
  stopAfterStep?: number;
  /** Show a progress bar with ETA on stderr. */
  progress?: boolean;
  /** Called with each train_log.jsonl record. */
  onLog?: (record: TrainLogRecord) => void;
  /** Where the run's first warning goes (default: a line on stderr). */
  warn?: (line: string) => void;
  gpu?: Gpu;
}

export type TrainLogRecord = StepMetrics & {
  step: number;
  tokens: number;
  lr: number;
  l1_coefficient: number;
  dead_fraction: number;
  tokens_per_second: number;
  feature_density: ReturnType<typeof densityHistogram>;
  /** Dead features resampled since the previous record (only when resampling is on). */
  resampled?: number;
  /** Set on the records of the decoder fine-tuning (finetuning_method decoder). */
  finetuning?: boolean;
  /** Set on every record from a tenth of the run on while explained variance is below 0. */
  warning?: string;
};

export interface TrainSummary {
  out: string;
  steps: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  last: TrainLogRecord | undefined;
  weights: SaeWeights;
}

const SAMPLE_TOKENS_FOR_INIT = 4096;
/** A dead-feature window no silence counter reaches (the kernels compare u32 counts). */
const NEVER_DEAD = 0xffffffff;

function checkFinite(x: Float32Array, step: number, what: string): void {
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i])) {
      throw new NonFiniteError(
        `${what} at step ${step} contain ${
          x[i]
        } (element ${i}); stopping before any checkpoint is written`,
      );
    }
  }
}

function scaleInPlace(x: Float32Array, a: number): void {
  if (a !== 1) { for (let i = 0; i < x.length; i++) x[i] *= a; }
}

/** What the last log record at a multiple of log_every measured: it picks each step's path. */
interface PathMeasure {
  l0: number;
  deadFraction: number;
}

/**
 * The measure that picks the next steps' paths (dense or lists, ghost terms by matmuls or loops):
 * from the last record at a multiple of log_every, which a resumed run finds in its log exactly as
 * the uninterrupted run measured it.
 */
function pathMeasureFromLog(lines: string[], logEvery: number): PathMeasure | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const r = JSON.parse(lines[i]);
    if (r.step % logEvery === 0) return { l0: r.l0, deadFraction: r.dead_fraction };
  }
  return undefined;
}

async function readLogLines(path: string, upToStep: number): Promise<string[]> {
  let text = "";
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return [];
  }
  return text.split("\n").filter((l) => l.trim() !== "" && JSON.parse(l).step <= upToStep);
}

/**
 * Trains an SAE on `source` and writes checkpoints to `opts.out`. With `opts.resume`, the config
 * stored in the run folder is used and the source is moved back to where the checkpoint left it.
 */
export async function trainSae(
  cfgIn: SaeTrainConfig,
  source: ActivationSource,
  opts: TrainOptions,
): Promise<TrainSummary> {
  const gpu = opts.gpu ?? await getGpu();
  const logPath = join(opts.out, "train_log.jsonl");
  let cfg = cfgIn;
  let weights: SaeWeights;
  let resumed: TrainState | undefined;
  let logLines: string[] = [];
  if (opts.resume) {
    const loaded = await loadTrainState(opts.out);
    cfg = loaded.cfg;
    if (cfg.dIn !== source.dIn) {
      throw new CheckpointError(
        `d_in mismatch: the checkpoint in ${
          saeDir(opts.out)
        } has d_in ${cfg.dIn}, the activations (${source.description}) have d_in ${source.dIn}`,
      );
    }
    weights = loaded.weights;
    resumed = loaded.state;
    await source.setState(resumed.sourceState);
    logLines = await readLogLines(logPath, resumed.step);
  } else {
    validateSaeConfig(cfg);
    if (cfg.dIn !== source.dIn) {
      throw new CheckpointError(
        `config d_in ${cfg.dIn} differs from the activations' d_in ${source.dIn}`,
      );
    }
    const existing = join(saeDir(opts.out), "train_state.safetensors");
    if (await pathExists(existing)) {
      throw new CheckpointError(
        `${existing} already exists: continue that run with --resume ${opts.out}, or choose another --out`,
      );
    }
    // Written first: an unwritable output folder fails here, before any training time is spent.
    await writeJsonAtomic(
      join(saeDir(opts.out), "cfg.json"),
      checkpointConfig(cfg, 0, source.description),
    );
    await writeFileAtomic(logPath, "");
  }
  const total = totalSteps(cfg);
  const n = cfg.trainBatchSizeTokens;
  const dSae = dSaeOf(cfg);
  let normFactor = resumed?.normFactor ?? 1;
  if (!resumed) {
    const nSample = Math.min(SAMPLE_TOKENS_FOR_INIT, n * cfg.nBatchesInBuffer);
    const sample = await source.next(nSample);
    checkFinite(sample, 0, `activations drawn for initialisation (${source.description})`);
    if (cfg.normalizeActivations === "expected_average_only_in") {
      let sq = 0;
      for (const v of sample) sq += v * v;
      normFactor = Math.sqrt(cfg.dIn / Math.max(sq / nSample, 1e-30));
      scaleInPlace(sample, normFactor);
    }
    const start = initialStart(cfg, sample, nSample);
    if (cfg.decoderInitNorm === FITTED_DECODER_INIT_NORM) {
      cfg = { ...cfg, decoderInitNorm: fitDecoderInitNorm(cfg, sample, nSample, start) };
    }
    weights = initSaeWeights(cfg, sample, nSample, start);
  }
  const kcfg: SaeKernelConfig = {
    architecture: cfg.architecture,
    aux: auxModeOf(cfg),
    tokenNorm: cfg.mseNormalization === "token_norm",
    dIn: cfg.dIn,
    dSae,
  };
  const sae = new SaeGpu(gpu, kcfg, n, weights!, cfg.chunkTokens);
  let windowTokens = 0;
  let runThreshold = 0;
  if (resumed) {
    sae.writeTensors(sae.m, resumed.m);
    sae.writeTensors(sae.v, resumed.v);
    upload(gpu, sae.bufs.sinceFired, new Uint32Array(resumed.sinceFired));
    upload(gpu, sae.bufs.actCount, new Float32Array(resumed.actCount));
    upload(gpu, sae.bufs.runThreshold, new Float32Array([resumed.runThreshold]));
    windowTokens = resumed.windowTokens;
    runThreshold = resumed.runThreshold;
  }
  const startStep = resumed?.step ?? 0;
  const endStep = Math.min(total, opts.stopAfterStep ?? total);
  const t0 = performance.now();
  let lastLogTime = t0;
  let lastLogStep = startStep;
  let last: TrainLogRecord | undefined;
  let measure = pathMeasureFromLog(logLines, cfg.logEvery);
  let warned = false;
  let resampledSinceLog = 0;
  let pending = startStep < endStep ? source.next(n) : undefined;
  pending?.catch(() => {});
  let sourceState = resumed?.sourceState ?? source.getState();
  const progress = opts.progress ? new Progress("train", total, { unit: "steps" }) : undefined;
  progress?.tick(startStep);
  try {
    for (let step = startStep; step < endStep; step++) {
      const x = await pending!;
      sourceState = source.getState();
      pending = step + 1 < endStep ? source.next(n) : undefined;
      // A failed read surfaces at the next step's await, not as an unhandled rejection meanwhile.
      pending?.catch(() => {});
      scaleInPlace(x, normFactor);
      checkFinite(x, step, `activations (${source.description})`);
      if (step > 0 && step % cfg.featureSamplingWindow === 0) windowTokens = 0;
      const sparsity = sparsityCoefficient(cfg, step, total);
      const lr = learningRate(cfg, step, total);
      const finetuning = isFinetuningStep(cfg, step, total);
      sae.setBatch(x);
      const batch = new CommandBatch(gpu, `sae step ${step}`);
      if (windowTokens === 0) batch.clear(sae.bufs.actCount);
      const hyper: SaeStepHyper = {
        sparsity,
        // The fine-tuning trains W_dec on the reconstruction alone: no feature counts as dead, so
        // ghost grads and AuxK add nothing.
        deadWindow: finetuning ? NEVER_DEAD : cfg.deadFeatureWindow,
        k: cfg.k,
        kAux: cfg.kAux,
        bandwidth: cfg.bandwidth,
        auxCoef: cfg.auxCoefficient,
        momentum: cfg.thresholdMomentum,
        dense: densePathFor(cfg.architecture, dSae, measure?.l0),
        ghostMatmul: ghostMatmulFor(kcfg, measure?.deadFraction),
      };
      sae.recordStep(batch, hyper, {
        lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.adamEps,
        step: step + 1,
        maxGradNorm: cfg.maxGradNorm,
      }, finetuning);
      await batch.submit();
      windowTokens += n;
      const done = step + 1;
      if (resampleDue(cfg, done, total)) {
        resampledSinceLog += await resampleSilentFeatures(sae, cfg, x, done);
      }
      const isLast = done === endStep;
      if (done % cfg.logEvery === 0 || isLast) {
        const stats = await readback(gpu, sae.bufs.stats);
        const since = await readback(gpu, sae.bufs.sinceFired);
        const act = await readback(gpu, sae.bufs.actCount);
        const now = performance.now();
        const m = stepMetrics(stats, x, n, cfg.dIn, sparsity, cfg.architecture === "jumprelu");
        if (!Number.isFinite(m.loss)) {
          throw new NonFiniteError(
            `loss is ${m.loss} at step ${step}; stopping before any checkpoint is written`,
          );
        }
        last = {
          step: done,
          tokens: done * n,
          lr,
          l1_coefficient: sparsity,
          ...m,
          dead_fraction: deadFraction(since, cfg.deadFeatureWindow),
          ...(cfg.resampleDeadEvery > 0 ? { resampled: resampledSinceLog } : {}),
          ...(finetuning ? { finetuning: true } : {}),
          tokens_per_second: ((done - lastLogStep) * n) /
            Math.max((now - lastLogTime) / 1000, 1e-9),
          feature_density: densityHistogram(act, windowTokens),
        };
        const warning = explainedVarianceWarning(done, total, m.explained_variance);
        if (warning) {
          // On a terminal the progress bar's line has no newline yet.
          const toStderr = (line: string) =>
            console.error(`${opts.progress ? "\n" : ""}warning: ${line}`);
          if (!warned) (opts.warn ?? toStderr)(warning);
          warned = true;
          last.warning = warning;
        }
        lastLogTime = now;
        lastLogStep = done;
        resampledSinceLog = 0;
        if (done % cfg.logEvery === 0) {
          measure = { l0: last.l0, deadFraction: last.dead_fraction };
        }
        logLines.push(JSON.stringify(last));
        await writeFileAtomic(logPath, logLines.join("\n") + "\n");
        opts.onLog?.(last);
      }
      progress?.tick(
        1,
        last &&
          `loss ${last.loss.toPrecision(4)} L0 ${last.l0.toFixed(1)} EV ${
            last.explained_variance.toFixed(3)
          } dead ${(last.dead_fraction * 100).toFixed(1)}%`,
      );
      if (done % cfg.checkpointEvery === 0 || isLast) {
        const w = await sae.readTensors(sae.params);
        runThreshold = (await readback(gpu, sae.bufs.runThreshold))[0];
        // The step's own batch: a resumed run exports the same threshold as a straight one.
        const batchThreshold = cfg.architecture === "batchtopk"
          ? await sae.batchThreshold(hyper)
          : 0;
        await saveCheckpoint(
          opts.out,
          cfg,
          w,
          {
            step: done,
            m: await sae.readTensors(sae.m),
            v: await sae.readTensors(sae.v),
            sinceFired: await readback(gpu, sae.bufs.sinceFired),
            actCount: await readback(gpu, sae.bufs.actCount),
            windowTokens,
            runThreshold,
            normFactor,
            sourceState,
          },
          source.description,
          batchThreshold,
        );
      }
    }
    progress?.finish();
    const seconds = (performance.now() - t0) / 1000;
    return {
      out: opts.out,
      steps: endStep - startStep,
      tokens: (endStep - startStep) * n,
      seconds,
      tokensPerSecond: ((endStep - startStep) * n) / Math.max(seconds, 1e-9),
      last,
      weights: await sae.readTensors(sae.params),
    };
  } finally {
    await pending?.catch(() => {});
    sae.destroy();
  }
}

/**
 * Resamples the features silent for the whole interval since the last resample, from the step's
 * tokens `x` and their reconstructions, and restarts their silence counters. Returns how many.
 */
async function resampleSilentFeatures(
  sae: SaeGpu,
  cfg: SaeTrainConfig,
  x: Float32Array,
  done: number,
): Promise<number> {
  const since = await readback(sae.gpu, sae.bufs.sinceFired);
  const dead: number[] = [];
  since.forEach((s, f) => {
    if (s >= cfg.resampleDeadEvery) dead.push(f);
  });
  if (dead.length === 0) return 0;
  const weights = await sae.readTensors(sae.params);
  const m = await sae.readTensors(sae.m);
  const v = await sae.readTensors(sae.v);
  const count = resampleDeadFeatures(weights, { m, v }, {
    dIn: cfg.dIn,
    dSae: dSaeOf(cfg),
    dead,
    x,
    xhat: await readback(sae.gpu, sae.bufs.xhat),
    encoderScale: RESAMPLE_ENCODER_SCALE,
    // A seed per step: a resumed run resamples exactly as an uninterrupted one.
    seed: (cfg.seed ^ Math.imul(done, 0x9e3779b1)) >>> 0,
  });
  if (count === 0) return 0;
  sae.writeTensors(sae.params, weights);
  sae.writeTensors(sae.m, m);
  sae.writeTensors(sae.v, v);
  for (const f of dead) since[f] = 0;
  upload(sae.gpu, sae.bufs.sinceFired, since);
  return count;
}
