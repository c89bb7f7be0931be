/**
 * @module
 * Small helpers every layer may use, with no imports of their own: the terminal progress bar that
 * the SAE trainer and the `features` and `probe` tasks draw.
 *
 * Main exports: {@link Progress} (a bar with rate and ETA on stderr; one line every few seconds
 * when stderr is not a terminal) and {@link formatSeconds}.
 *
 * ```ts
 * import { Progress } from "./mod.ts";
 *
 * const bar = new Progress("train", 1000, { unit: "steps" });
 * for (let step = 0; step < 1000; step++) bar.tick(1, `loss ${(1 / (step + 1)).toFixed(3)}`);
 * bar.finish();
 * ```
 */
export { formatSeconds, Progress, type ProgressOptions } from "./progress.ts";
export { pathExists } from "./path_exists.ts";
