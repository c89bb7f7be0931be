/** Bindings for shaders/jumprelu.wgsl (in-place JumpReLU with per-feature thresholds) and its CPU reference. */
import { type CommandBatch, ShapeError, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import { requireDistinct, requireF32 } from "./checks.ts";

/** z [n, d_sae] ← z where z > threshold[f], else 0. */
export function jumpReluInPlace(batch: CommandBatch, z: Tensor, threshold: Tensor): void {
  const where = `jumprelu z[${z.shape}] threshold[${threshold.shape}]`;
  requireF32(where, { z, threshold });
  requireDistinct(where, z, { threshold });
  const dSae = threshold.size;
  if (dSae < 1 || z.size % dSae !== 0) {
    throw new ShapeError(`${where}: z must be [n, ${dSae}]`);
  }
  if (z.size === 0) return;
  batch.dispatch({
    shader: "jumprelu.wgsl",
    entryPoint: "jumprelu",
    bindings: { params: uniformFields({ count: z.size, d_sae: dSae }), threshold, z },
    workgroups: { invocations: z.size },
    label: where,
  });
}

export function jumpReluRef(z: Float32Array, threshold: Float32Array): Float32Array {
  return z.map((v, i) => (v > threshold[i % threshold.length] ? v : 0));
}
