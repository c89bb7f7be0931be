/**
 * Bindings for shaders/sae_constraint.wgsl (decoder-gradient projection, decoder row
 * renormalisation, firing counters) and their CPU references.
 */
import { type CommandBatch, type Tensor, uniformFields } from "../compute/gpu/mod.ts";

export interface ConstraintTensors {
  wDec: Tensor<"f32">;
  gWDec: Tensor<"f32">;
  fired: Tensor<"u32">;
  sinceFired: Tensor<"u32">;
  actCount: Tensor<"f32">;
}

export type ConstraintEntry = "project_decoder_grad" | "renorm_decoder" | "update_counters";

export function constraintKernel(
  batch: CommandBatch,
  entryPoint: ConstraintEntry,
  dIn: number,
  dSae: number,
  t: ConstraintTensors,
): void {
  batch.dispatch({
    shader: "sae_constraint.wgsl",
    entryPoint,
    bindings: {
      params: uniformFields({ d_in: dIn, d_sae: dSae }),
      w_dec: t.wDec,
      g_w_dec: t.gWDec,
      fired: t.fired,
      since_fired: t.sinceFired,
      act_count: t.actCount,
    },
    workgroups: [entryPoint === "update_counters" ? Math.ceil(dSae / 64) : dSae],
    label: `sae_constraint.${entryPoint} W_dec[${dSae},${dIn}]`,
  });
}

/** g_f − (g_f·w_f) w_f / ‖w_f‖² for every row f, in place. */
export function projectDecoderGradRef(g: Float64Array, w: ArrayLike<number>, dIn: number): void {
  for (let f = 0; f < g.length / dIn; f++) {
    let gw = 0;
    let ww = 0;
    for (let d = 0; d < dIn; d++) {
      gw += g[f * dIn + d] * w[f * dIn + d];
      ww += w[f * dIn + d] ** 2;
    }
    const c = gw / Math.max(ww, 1e-30);
    for (let d = 0; d < dIn; d++) g[f * dIn + d] -= c * w[f * dIn + d];
  }
}

/** Rows scaled to unit norm, in place. */
export function renormRowsRef(w: Float64Array | Float32Array, dIn: number): void {
  for (let f = 0; f < w.length / dIn; f++) {
    let ww = 0;
    for (let d = 0; d < dIn; d++) ww += w[f * dIn + d] ** 2;
    const inv = 1 / Math.max(Math.sqrt(ww), 1e-12);
    for (let d = 0; d < dIn; d++) w[f * dIn + d] *= inv;
  }
}
