/**
 * What the two REVE forward benchmarks (our WGSL forward, reve_forward.ts, and onnxruntime-web,
 * reve_onnx.ts) share so their numbers compare: the options, their defaults, and the timed loop.
 */
import { REVE_BASE_CONFIG, type ReveConfig } from "../reve/config.ts";

export interface ReveBenchOptions {
  /** Trials per forward. Default [1, 32]. */
  batches?: readonly number[];
  /** Samples per trial at 200 Hz. Default 800. */
  samples?: number;
  /**
   * Blocks of the random reve-base-width model. Default 22 (reve-base). Time grows linearly with
   * depth, so a shallower model measures the same per-block speed faster.
   */
  depth?: number;
  /** Untimed runs per batch size (pipeline compilation happens here). Default 1. */
  warmup?: number;
  /** Timed runs per batch size. Default 3. */
  runs?: number;
  seed?: number;
  /** Progress lines (the runs can take minutes on a software adapter). */
  log?: (line: string) => void;
}

/** ReveBenchOptions with every default filled in, and the model config they give. */
export interface ResolvedReveBenchOptions {
  batches: readonly number[];
  samples: number;
  warmup: number;
  runs: number;
  seed: number;
  log: (line: string) => void;
  config: ReveConfig;
}

/** Fills in the defaults; `bench` names the benchmark in the error for runs < 1. */
export function resolveReveBenchOptions(
  options: ReveBenchOptions,
  bench: string,
): ResolvedReveBenchOptions {
  const runs = options.runs ?? 3;
  if (runs < 1) throw new RangeError(`${bench}: runs must be at least 1, got ${runs}`);
  return {
    batches: options.batches ?? [1, 32],
    samples: options.samples ?? 800,
    warmup: options.warmup ?? 1,
    runs,
    seed: options.seed ?? 1,
    log: options.log ?? (() => {}),
    config: { ...REVE_BASE_CONFIG, depth: options.depth ?? REVE_BASE_CONFIG.depth },
  };
}

/**
 * Runs `forward` warm-up + timed times, logging each as `${prefix}: warm-up|run N ms`; returns the
 * timed runs' milliseconds.
 */
export async function timedForwards(
  o: ResolvedReveBenchOptions,
  prefix: string,
  forward: () => Promise<unknown>,
): Promise<number[]> {
  const runsMs: number[] = [];
  for (let i = 0; i < o.warmup + o.runs; i++) {
    const start = performance.now();
    await forward();
    const ms = performance.now() - start;
    if (i >= o.warmup) runsMs.push(ms);
    o.log(`${prefix}: ${i < o.warmup ? "warm-up" : "run"} ${ms.toFixed(0)} ms`);
  }
  return runsMs;
}
