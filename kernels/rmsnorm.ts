/** RMSNorm over the last axis (eps inside the root, weight only), and its float64 CPU reference. */
import { type CommandBatch, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import {
  lastAxis,
  requireDistinct,
  requireF32,
  requireSameShape,
  requireVector,
} from "./checks.ts";

/** out = x · rsqrt(mean(x²) + eps) · weight, per row of the last axis. */
export function rmsNorm(
  batch: CommandBatch,
  x: Tensor,
  weight: Tensor,
  out: Tensor,
  eps: number,
): void {
  const what = `rmsNorm x[${x.shape}]`;
  requireF32(what, { x, weight, out });
  requireSameShape(what, "out", out, x);
  requireDistinct(what, out, { x, weight });
  const { rows, d } = lastAxis(what, x);
  requireVector(what, "weight", weight, d);
  if (rows === 0) return;
  batch.dispatch({
    shader: "rmsnorm.wgsl",
    bindings: { x, weight, out, params: uniformFields({ rows, d, eps }) },
    workgroups: { invocations: rows },
    label: what,
  });
}

export function rmsNormRef(
  x: Float32Array,
  weight: Float32Array,
  d: number,
  eps: number,
): Float32Array {
  const out = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += d) {
    let ms = 0;
    for (let i = 0; i < d; i++) ms += x[base + i] ** 2;
    const inv = 1 / Math.sqrt(ms / d + eps);
    for (let i = 0; i < d; i++) out[base + i] = x[base + i] * inv * weight[i];
  }
  return out;
}
