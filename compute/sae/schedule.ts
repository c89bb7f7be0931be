/** Learning-rate schedules and the sparsity-coefficient warm-up, as functions of the step. */
import type { SaeTrainConfig } from "./config.ts";

/** lr at 0-based step `step` of `total`. */
export function learningRate(cfg: SaeTrainConfig, step: number, total: number): number {
  const warm = cfg.lrSchedule === "constant" ? 0 : cfg.lrWarmUpSteps;
  if (step < warm) return cfg.lr * (step + 1) / warm;
  if (cfg.lrSchedule !== "cosine") return cfg.lr;
  const span = Math.max(1, total - warm);
  const progress = Math.min(1, (step - warm) / span);
  return cfg.lrEnd + 0.5 * (cfg.lr - cfg.lrEnd) * (1 + Math.cos(Math.PI * progress));
}

/** Sparsity coefficient at 0-based step: linear warm-up over l1WarmUpSteps. */
export function sparsityCoefficient(cfg: SaeTrainConfig, step: number): number {
  if (cfg.l1WarmUpSteps <= 0) return cfg.l1Coefficient;
  return cfg.l1Coefficient * Math.min(1, (step + 1) / cfg.l1WarmUpSteps);
}
