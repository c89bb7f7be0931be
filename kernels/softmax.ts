/** Softmax over the last axis (max-subtracted), and its float64 CPU reference. */
import { type CommandBatch, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import { lastAxis, requireDistinct, requireF32, requireSameShape } from "./checks.ts";

/** out = softmax(x) along the last axis (out must be a different buffer). */
export function softmax(batch: CommandBatch, x: Tensor, out: Tensor): void {
  const what = `softmax x[${x.shape}]`;
  requireF32(what, { x, out });
  requireSameShape(what, "out", out, x);
  requireDistinct(what, out, { x });
  const { rows, d } = lastAxis(what, x);
  if (rows === 0) return;
  batch.dispatch({
    shader: "softmax.wgsl",
    bindings: { x, out, params: uniformFields({ rows, d }) },
    workgroups: { invocations: rows },
    label: what,
  });
}

export function softmaxRef(x: Float32Array, d: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let base = 0; base < x.length; base += d) {
    let mx = -Infinity;
    for (let i = 0; i < d; i++) mx = Math.max(mx, x[base + i]);
    let sum = 0;
    for (let i = 0; i < d; i++) sum += Math.exp(x[base + i] - mx);
    for (let i = 0; i < d; i++) out[base + i] = Math.exp(x[base + i] - mx) / sum;
  }
  return out;
}
