/** Wall-clock timing helpers for the benchmark: medians over runs, GPU work timed to completion. */
import { CommandBatch, type Gpu } from "../gpu/mod.ts";

export interface TimingOptions {
  /** Repetitions inside one timed run (recorded back to back in one submit for GPU work). */
  reps: number;
  /** Timed runs after one untimed warm-up run; the median is reported. */
  runs: number;
}

export interface GpuTimingOptions extends TimingOptions {
  /**
   * GPU work only: `reps` doubles during warm-up until one run lasts this long (default 0.25 s).
   * Waiting for a submit costs Deno ~10 ms whatever the work (`measureSubmitLatency`), so a short
   * run would time that wait, not the kernel: at 0.25 s it is under 5% of the run.
   */
  minRunSeconds?: number;
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
 * Warm-up runs (compiling the pipelines) double `reps` until a run lasts `minRunSeconds`.
 */
export async function timeGpu(
  gpu: Gpu,
  record: (batch: CommandBatch) => void,
  opts: GpuTimingOptions,
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
  const minRun = opts.minRunSeconds ?? 0.25;
  let reps = Math.max(1, opts.reps);
  while (reps < 1 << 16 && (await run(reps)) * reps < minRun) reps *= 2;
  const times: number[] = [];
  for (let r = 0; r < opts.runs; r++) times.push(await run(reps));
  return median(times);
}

/** Seconds Deno takes to submit an empty command buffer and wait for it: the fixed cost of a run. */
export async function measureSubmitLatency(gpu: Gpu, runs = 5): Promise<number> {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    gpu.device.queue.submit([gpu.device.createCommandEncoder().finish()]);
    await gpu.device.queue.onSubmittedWorkDone();
    times.push((performance.now() - t0) / 1000);
  }
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
