/** Learning-rate schedules and the sparsity-coefficient warm-up, as functions of the step. */
import { finetuningSteps, type SaeTrainConfig } from "./config.ts";

/**
 * The decoder fine-tuning's peak lr times sqrt(d_in). Adam moves each weight by about lr a step,
 * and a unit decoder row's elements are about 1/sqrt(d_in): at the main phase's end-of-cosine lr,
 * rows that must grow by 70 % (relu, L1 5e-3, d_sae 8192 on the demo model) take hundreds of steps;
 * at this peak (0.0625 at d_in 64) 50 steps reach 0.956 explained variance, 0.947 at half of it,
 * against 0.731 before (BENCHMARKS.md, "relu's decoder fine-tuning").
 */
export const FINETUNING_LR_TIMES_SQRT_D_IN = 0.5;

/** Whether 0-based `step` of `total` belongs to the decoder fine-tuning. */
export function isFinetuningStep(cfg: SaeTrainConfig, step: number, total: number): boolean {
  return step >= total - finetuningSteps(cfg);
}

/**
 * lr at 0-based step `step` of `total`: the configured schedule over the main phase; over the
 * decoder fine-tuning, a cosine from FINETUNING_LR_TIMES_SQRT_D_IN / sqrt(d_in) to 0.
 */
export function learningRate(cfg: SaeTrainConfig, step: number, total: number): number {
  const ft = finetuningSteps(cfg);
  if (ft > 0 && step >= total - ft) {
    const progress = (step - (total - ft)) / ft;
    const peak = FINETUNING_LR_TIMES_SQRT_D_IN / Math.sqrt(cfg.dIn);
    return 0.5 * peak * (1 + Math.cos(Math.PI * progress));
  }
  const warm = cfg.lrSchedule === "constant" ? 0 : cfg.lrWarmUpSteps;
  if (step < warm) return cfg.lr * (step + 1) / warm;
  if (cfg.lrSchedule !== "cosine") return cfg.lr;
  const span = Math.max(1, total - warm);
  const progress = Math.min(1, (step - warm) / span);
  return cfg.lrEnd + 0.5 * (cfg.lr - cfg.lrEnd) * (1 + Math.cos(Math.PI * progress));
}

/**
 * Sparsity coefficient at 0-based step of `total`: linear warm-up over l1WarmUpSteps; 0 during the
 * decoder fine-tuning, whose encoder no longer trains.
 */
export function sparsityCoefficient(cfg: SaeTrainConfig, step: number, total: number): number {
  if (isFinetuningStep(cfg, step, total)) return 0;
  if (cfg.l1WarmUpSteps <= 0) return cfg.l1Coefficient;
  return cfg.l1Coefficient * Math.min(1, (step + 1) / cfg.l1WarmUpSteps);
}
