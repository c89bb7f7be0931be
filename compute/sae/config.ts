/** The SAE training configuration: every hyperparameter with the earlier Python pipeline's defaults, and checks. */
import { SAE_ARCHITECTURES, type SaeArchitecture } from "../../kernels/sae_common.ts";
import { EegSaeError } from "../util/errors.ts";

export type { SaeArchitecture };
export const LR_SCHEDULES = ["constant", "constant_with_warmup", "cosine"] as const;
export type LrSchedule = typeof LR_SCHEDULES[number];
export const MSE_NORMALIZATIONS = ["token_norm", "none"] as const;
export type MseNormalization = typeof MSE_NORMALIZATIONS[number];
export const B_DEC_INITS = ["median", "mean", "zeros"] as const;
export type BDecInit = typeof B_DEC_INITS[number];
export const ACTIVATION_NORMALIZATIONS = ["none", "expected_average_only_in"] as const;
export type ActivationNormalization = typeof ACTIVATION_NORMALIZATIONS[number];
export const FINETUNING_METHODS = ["none", "decoder"] as const;
export type FinetuningMethod = typeof FINETUNING_METHODS[number];

export interface SaeTrainConfig {
  architecture: SaeArchitecture;
  dIn: number;
  /** d_sae = expansion_factor · d_in. */
  expansionFactor: number;
  /** L1 coefficient (relu) or L0 coefficient (jumprelu). */
  l1Coefficient: number;
  l1WarmUpSteps: number;
  mseNormalization: MseNormalization;
  useGhostGrads: boolean;
  deadFeatureWindow: number;
  /**
   * Every this many steps, features silent since the last resample get a new direction from a
   * badly reconstructed token (compute/sae/resample.ts); 0: never.
   */
  resampleDeadEvery: number;
  /** Resampling stops after this fraction of the steps, so the last features settle. */
  resampleDeadUntil: number;
  featureSamplingWindow: number;
  /** TopK/BatchTopK active features per token. */
  k: number;
  /** AuxK: dead features per token (SAELens: d_in/2). */
  kAux: number;
  auxCoefficient: number;
  /** JumpReLU. */
  bandwidth: number;
  initialThreshold: number;
  /** BatchTopK running-threshold momentum. */
  thresholdMomentum: number;
  lr: number;
  lrSchedule: LrSchedule;
  lrWarmUpSteps: number;
  lrEnd: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  /**
   * `decoder`: the last `finetuningTokens` of the run train W_dec alone, rows free to grow, with
   * no sparsity or auxiliary loss, undoing relu's L1 shrinkage while the encoder (and so every
   * token's active set) stays as the main phase left it (docs/ARCHITECTURE.md, "SAE").
   */
  finetuningMethod: FinetuningMethod;
  /** Tokens of the decoder fine-tuning, the tail of totalTrainingTokens (whole steps). */
  finetuningTokens: number;
  /** Clip gradients to this global norm (0: off). */
  maxGradNorm: number;
  trainBatchSizeTokens: number;
  totalTrainingTokens: number;
  nBatchesInBuffer: number;
  bDecInit: BDecInit;
  /** W_enc = W_decᵀ at init (else independent random unit columns). */
  initEncoderAsDecoderTranspose: boolean;
  /**
   * c, the decoder-row norm of the initial map (SAELens's `decoder_init_norm`): decoder rows stay
   * unit-norm, so the factor c² sits in W_enc (docs/ARCHITECTURE.md, "SAE"). 1 is the older init;
   * 0 fits c on the data. Default: defaultDecoderInitNorm(architecture).
   */
  decoderInitNorm: number;
  normalizeActivations: ActivationNormalization;
  seed: number;
  logEvery: number;
  checkpointEvery: number;
  /** Tokens per encode chunk (0: as many as the storage-binding limit allows, at most 1024). */
  chunkTokens: number;
  /** Free-form provenance written into cfg.json (model, hook, data source, preprocessing). */
  provenance: Record<string, string | number | boolean>;
}

export class SaeConfigError extends EegSaeError {}

/** Every default that does not depend on d_in (the earlier pipeline's values): the one place they are stated. */
export const SAE_CONFIG_DEFAULTS: Readonly<
  Omit<SaeTrainConfig, "dIn" | "kAux" | "decoderInitNorm" | "provenance">
> = {
  architecture: "relu",
  expansionFactor: 16,
  l1Coefficient: 1e-4,
  l1WarmUpSteps: 0,
  mseNormalization: "token_norm",
  useGhostGrads: true,
  deadFeatureWindow: 1000,
  resampleDeadEvery: 0,
  resampleDeadUntil: 0.5,
  featureSamplingWindow: 2000,
  k: 32,
  auxCoefficient: 1 / 32,
  bandwidth: 0.001,
  initialThreshold: 0.001,
  thresholdMomentum: 0.99,
  lr: 3e-4,
  lrSchedule: "constant",
  lrWarmUpSteps: 0,
  lrEnd: 0,
  beta1: 0.9,
  beta2: 0.999,
  adamEps: 1e-8,
  maxGradNorm: 0,
  finetuningMethod: "none",
  finetuningTokens: 0,
  trainBatchSizeTokens: 4096,
  totalTrainingTokens: 500000,
  nBatchesInBuffer: 8,
  bDecInit: "median",
  initEncoderAsDecoderTranspose: true,
  normalizeActivations: "none",
  seed: 42,
  logEvery: 10,
  checkpointEvery: 100,
  chunkTokens: 0,
};

/** decoder_init_norm 0: c fitted on the initialisation sample (fitDecoderInitNorm in init.ts). */
export const FITTED_DECODER_INIT_NORM = 0;

/**
 * The initial decoder-row norm each architecture trains best from: 0.1 (SAELens's default) for
 * relu, so the first reconstruction stays near b_dec whatever d_sae / d_in; fitted for topk and
 * batchtopk, whose features die when the first reconstruction undershoots; 1 for jumprelu, whose
 * absolute threshold would gate off every shrunken pre-activation (docs/ARCHITECTURE.md, "SAE").
 */
export function defaultDecoderInitNorm(architecture: SaeArchitecture): number {
  if (architecture === "jumprelu") return 1;
  return architecture === "relu" ? 0.1 : FITTED_DECODER_INIT_NORM;
}

export function defaultSaeConfig(
  dIn: number,
  overrides: Partial<SaeTrainConfig> = {},
): SaeTrainConfig {
  const cfg: SaeTrainConfig = {
    ...SAE_CONFIG_DEFAULTS,
    dIn,
    kAux: Math.max(1, Math.floor(dIn / 2)),
    decoderInitNorm: defaultDecoderInitNorm(
      overrides.architecture ?? SAE_CONFIG_DEFAULTS.architecture,
    ),
    provenance: {},
    ...overrides,
  };
  validateSaeConfig(cfg);
  return cfg;
}

export function dSaeOf(cfg: SaeTrainConfig): number {
  return Math.round(cfg.expansionFactor * cfg.dIn);
}

type StepCounts = Pick<SaeTrainConfig, "totalTrainingTokens" | "trainBatchSizeTokens">;

/** Steps of the training: the token count rounded up to whole steps. */
export function totalSteps(cfg: StepCounts): number {
  return Math.max(1, Math.ceil(cfg.totalTrainingTokens / cfg.trainBatchSizeTokens));
}

/** Steps at the end of the run that fine-tune the decoder alone (0 without fine-tuning). */
export function finetuningSteps(
  cfg: Pick<SaeTrainConfig, "finetuningMethod" | "finetuningTokens" | "trainBatchSizeTokens">,
): number {
  if (cfg.finetuningMethod === "none") return 0;
  return Math.ceil(cfg.finetuningTokens / cfg.trainBatchSizeTokens);
}

/** The steps and tokens a config trains, saying so when the token count was rounded up. */
export function describeSteps(
  cfg: StepCounts & Pick<SaeTrainConfig, "finetuningMethod" | "finetuningTokens">,
): string {
  const steps = totalSteps(cfg);
  const tokens = steps * cfg.trainBatchSizeTokens;
  const ft = finetuningSteps(cfg);
  const plan = `${steps} steps of ${cfg.trainBatchSizeTokens} tokens = ${tokens} tokens` +
    (ft > 0 ? `, the last ${ft} fine-tuning the decoder alone` : "");
  return tokens === cfg.totalTrainingTokens
    ? plan
    : `${plan} (total_training_tokens ${cfg.totalTrainingTokens} rounded up to whole steps)`;
}

export function validateSaeConfig(cfg: SaeTrainConfig): void {
  const positiveInt = (name: keyof SaeTrainConfig) => {
    const v = cfg[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1) {
      throw new SaeConfigError(`${name} must be a positive integer, got ${v}`);
    }
  };
  for (
    const n of [
      "dIn",
      "trainBatchSizeTokens",
      "totalTrainingTokens",
      "nBatchesInBuffer",
      "logEvery",
      "checkpointEvery",
      "k",
      "kAux",
      "deadFeatureWindow",
      "featureSamplingWindow",
    ] as const
  ) positiveInt(n);
  if (!SAE_ARCHITECTURES.includes(cfg.architecture)) {
    throw new SaeConfigError(
      `architecture must be one of ${SAE_ARCHITECTURES.join(", ")}, got ${cfg.architecture}`,
    );
  }
  const dSae = dSaeOf(cfg);
  if (!(dSae >= 1)) {
    throw new SaeConfigError(`expansion_factor ${cfg.expansionFactor} gives d_sae ${dSae}`);
  }
  if ((cfg.architecture === "topk" || cfg.architecture === "batchtopk") && cfg.k > dSae) {
    throw new SaeConfigError(`k ${cfg.k} exceeds d_sae ${dSae}`);
  }
  for (const n of ["lr", "bandwidth", "initialThreshold"] as const) {
    if (!(cfg[n] > 0)) throw new SaeConfigError(`${n} must be > 0, got ${cfg[n]}`);
  }
  if (!(cfg.decoderInitNorm >= 0)) {
    throw new SaeConfigError(`decoderInitNorm must be ≥ 0, got ${cfg.decoderInitNorm}`);
  }
  if (cfg.decoderInitNorm === FITTED_DECODER_INIT_NORM && cfg.architecture === "jumprelu") {
    throw new SaeConfigError(
      "decoderInitNorm 0 (fitted on the data) does not apply to jumprelu: its threshold is absolute",
    );
  }
  for (const n of ["l1Coefficient", "lrEnd", "maxGradNorm", "auxCoefficient"] as const) {
    if (!(cfg[n] >= 0)) throw new SaeConfigError(`${n} must be ≥ 0, got ${cfg[n]}`);
  }
  if (!FINETUNING_METHODS.includes(cfg.finetuningMethod)) {
    throw new SaeConfigError(
      `finetuning_method must be one of ${
        FINETUNING_METHODS.join(", ")
      }, got ${cfg.finetuningMethod}`,
    );
  }
  if (!Number.isInteger(cfg.finetuningTokens) || cfg.finetuningTokens < 0) {
    throw new SaeConfigError(
      `finetuning_tokens must be a whole number ≥ 0, got ${cfg.finetuningTokens}`,
    );
  }
  if (cfg.finetuningMethod === "decoder") {
    if (cfg.architecture !== "relu") {
      throw new SaeConfigError(
        `finetuning_method decoder corrects relu's L1 shrinkage; ${cfg.architecture} has none ` +
          `(its active set is chosen by rank or threshold), so use it with --architecture relu`,
      );
    }
    const ft = finetuningSteps(cfg);
    if (ft < 1 || ft >= totalSteps(cfg)) {
      throw new SaeConfigError(
        `finetuning_tokens ${cfg.finetuningTokens} gives ${ft} fine-tuning steps of the run's ` +
          `${totalSteps(cfg)}; it must leave at least one step on each side`,
      );
    }
  }
  if (!Number.isInteger(cfg.resampleDeadEvery) || cfg.resampleDeadEvery < 0) {
    throw new SaeConfigError(
      `resampleDeadEvery must be a whole number of steps ≥ 0, got ${cfg.resampleDeadEvery}`,
    );
  }
  if (!(cfg.resampleDeadUntil >= 0 && cfg.resampleDeadUntil <= 1)) {
    throw new SaeConfigError(
      `resampleDeadUntil must be a fraction of the run in [0, 1], got ${cfg.resampleDeadUntil}`,
    );
  }
}

/** The auxiliary loss each architecture uses. */
export function auxModeOf(cfg: SaeTrainConfig): "none" | "ghost" | "auxk" {
  if (cfg.architecture === "relu") return cfg.useGhostGrads ? "ghost" : "none";
  if (cfg.architecture === "topk" || cfg.architecture === "batchtopk") return "auxk";
  return "none";
}

/**
 * Whether the SAE resamples its dead features after step `done` (1-based) of `total`: never once
 * the decoder fine-tuning has begun, which leaves the encoder as it is.
 */
export function resampleDue(cfg: SaeTrainConfig, done: number, total: number): boolean {
  return cfg.resampleDeadEvery > 0 && done % cfg.resampleDeadEvery === 0 &&
    done <= cfg.resampleDeadUntil * total && done < total - finetuningSteps(cfg);
}

/**
 * The scale of a resampled feature's encoder column, as a fraction of the alive ones' mean norm:
 * 0.2, small enough that a batch of new features does not swamp the reconstruction (at 1, 2,433
 * features resampled at once in a batchtopk run at d_sae 8192 sent explained variance to −367).
 * At 0.2 a topk or batchtopk feature seldom reaches the k places; AuxK is their mechanism.
 */
export const RESAMPLE_ENCODER_SCALE = 0.2;
