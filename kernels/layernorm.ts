/** LayerNorm over the last axis (affine, biased variance), and its float64 CPU reference. */
import { type CommandBatch, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import {
  lastAxis,
  requireDistinct,
  requireF32,
  requireSameShape,
  requireVector,
} from "./checks.ts";

/** out = (x − mean) / sqrt(var + eps) · weight + bias, per row of the last axis. */
export function layerNorm(
  batch: CommandBatch,
  x: Tensor,
  weight: Tensor,
  bias: Tensor,
  out: Tensor,
  eps: number,
): void {
  const what = `layerNorm x[${x.shape}]`;
  requireF32(what, { x, weight, bias, out });
  requireSameShape(what, "out", out, x);
  requireDistinct(what, out, { x, weight, bias });
  const { rows, d } = lastAxis(what, x);
  requireVector(what, "weight", weight, d);
  requireVector(what, "bias", bias, d);
  if (rows === 0) return;
  batch.dispatch({
    shader: "layernorm.wgsl",
    bindings: { x, weight, bias, out, params: uniformFields({ rows, d, eps }) },
    workgroups: { invocations: rows },
    label: what,
  });
}

export function layerNormRef(
  x: Float32Array,
  weight: Float32Array,
  bias: Float32Array,
  d: number,
  eps: number,
): Float32Array {
  const out = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += d) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[base + i];
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[base + i] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) out[base + i] = (x[base + i] - mean) * inv * weight[i] + bias[i];
  }
  return out;
}
