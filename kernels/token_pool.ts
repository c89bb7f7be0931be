/** Bindings for shaders/token_pool.wgsl (mean and max over each trial's tokens) and the CPU reference. */
import { type CommandBatch, ShapeError, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import { requireDistinct, requireF32 } from "./checks.ts";

/** out [B, 2W] = [mean over tokens | max over tokens] of x [B, T, W]. */
export function poolTokens(
  batch: CommandBatch,
  x: Tensor,
  out: Tensor,
  trials: number,
  tokens: number,
): void {
  const where = `token_pool x[${x.shape}] out[${out.shape}]`;
  requireF32(where, { x, out });
  requireDistinct(where, out, { x });
  const width = x.size / (trials * tokens);
  if (!Number.isInteger(width) || width < 1 || out.size !== trials * 2 * width) {
    throw new ShapeError(`${where}: expected x [${trials}, ${tokens}, W] and out [${trials}, 2W]`);
  }
  batch.dispatch({
    shader: "token_pool.wgsl",
    entryPoint: "pool",
    bindings: { params: uniformFields({ n_trials: trials, tokens, width }), x, out },
    workgroups: { invocations: trials * width },
    label: where,
  });
}

/** CPU reference of poolTokens. */
export function poolTokensRef(
  x: Float32Array,
  trials: number,
  tokens: number,
): Float32Array {
  const w = x.length / (trials * tokens);
  const out = new Float32Array(trials * 2 * w);
  for (let b = 0; b < trials; b++) {
    for (let j = 0; j < w; j++) {
      let s = 0;
      let m = -Infinity;
      for (let t = 0; t < tokens; t++) {
        const v = x[(b * tokens + t) * w + j];
        s += v;
        m = Math.max(m, v);
      }
      out[b * 2 * w + j] = s / tokens;
      out[b * 2 * w + w + j] = m;
    }
  }
  return out;
}
