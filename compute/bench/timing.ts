/** Wall-clock timing helpers for the benchmark: medians over runs, GPU work timed to completion. */
import { CommandBatch, type Gpu } from "../gpu/mod.ts";

export interface TimingOptions {
  /** Repetitions inside one timed run (recorded back to back in one submit for GPU work). */
  reps: number;
  /** Timed runs after one untimed warm-up run; the median is reported. */
  runs: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/**
 * Seconds per repetition of GPU work: each run records `reps` repetitions into one batch, submits
 * once and waits for `onSubmittedWorkDone`, so per-submit overhead is shared by all repetitions.
 */
export async function timeGpu(
  gpu: Gpu,
  record: (batch: CommandBatch) => void,
  opts: TimingOptions,
): Promise<number> {
  const run = async (reps: number) => {
    const batch = new CommandBatch(gpu, "bench");
    for (let i = 0; i < reps; i++) record(batch);
    const t0 = performance.now();
    await batch.submit();
    await gpu.device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) / 1000 / reps;
  };
  await run(1);
  const times: number[] = [];
  for (let r = 0; r < opts.runs; r++) times.push(await run(opts.reps));
  return median(times);
}

/** Seconds per call of an async operation (`reps` sequential calls per run, after a warm-up call). */
export async function timeAsync(fn: () => Promise<void>, opts: TimingOptions): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < opts.reps; i++) await fn();
    times.push((performance.now() - t0) / 1000 / opts.reps);
  }
  return median(times);
}

/** Repetitions so one run does about `targetFlop` of work (at least one). */
export function repsFor(flopPerRep: number, targetFlop: number): number {
  return Math.max(1, Math.round(targetFlop / flopPerRep));
}
