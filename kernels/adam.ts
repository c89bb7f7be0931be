/**
 * Bindings for shaders/adam.wgsl: Adam in place (PyTorch's bias-corrected form, fp32 moments) and
 * gradient clipping by the global norm over several tensors; with CPU references.
 */
import {
  type CommandBatch,
  type Tensor,
  type UniformFields,
  uniformFields,
} from "../compute/gpu/mod.ts";

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** 1-based step count for the bias correction. */
  step: number;
}

export interface AdamSlot {
  param: Tensor<"f32">;
  grad: Tensor<"f32">;
  m: Tensor<"f32">;
  v: Tensor<"f32">;
}

const SUMSQ_PER_GROUP = 256 * 64;

/** Partial-sum slots the clip buffer needs for these tensors (plus one for the scale). */
export function clipBufferSize(slots: readonly AdamSlot[]): number {
  return 1 + slots.reduce((s, x) => s + Math.ceil(x.grad.size / SUMSQ_PER_GROUP), 0);
}

function adamUniform(
  n: number,
  offset: number,
  useClip: boolean,
  h: AdamHyper,
  maxNorm: number,
): UniformFields {
  return uniformFields({
    n,
    offset,
    use_clip: useClip ? 1 : 0,
    lr: h.lr,
    beta1: h.beta1,
    beta2: h.beta2,
    eps: h.eps,
    bias1: 1 - h.beta1 ** h.step,
    bias2: 1 - h.beta2 ** h.step,
    max_norm: maxNorm,
  });
}

/**
 * Records Adam over every slot. With maxNorm > 0 the gradients are first scaled together by
 * min(1, maxNorm/‖g‖) where ‖g‖ is the norm over all slots.
 */
export function adamStep(
  batch: CommandBatch,
  slots: readonly AdamSlot[],
  clip: Tensor<"f32">,
  h: AdamHyper,
  maxNorm = 0,
): void {
  const useClip = maxNorm > 0;
  if (useClip) {
    let offset = 0;
    for (const s of slots) {
      const groups = Math.ceil(s.grad.size / SUMSQ_PER_GROUP);
      batch.dispatch({
        shader: "adam.wgsl",
        entryPoint: "sumsq_partial",
        bindings: {
          params: adamUniform(s.grad.size, offset, true, h, maxNorm),
          grad: s.grad,
          clip,
        },
        workgroups: [groups],
        label: `adam.sumsq_partial ${s.grad.toString()}`,
      });
      offset += groups;
    }
    batch.dispatch({
      shader: "adam.wgsl",
      entryPoint: "clip_scale",
      bindings: {
        params: adamUniform(0, offset, true, h, maxNorm),
        clip,
      },
      workgroups: [1],
      label: `adam.clip_scale over ${offset} partials`,
    });
  }
  for (const s of slots) {
    batch.dispatch({
      shader: "adam.wgsl",
      entryPoint: "adam",
      bindings: {
        params: adamUniform(s.param.size, 0, useClip, h, maxNorm),
        param: s.param,
        grad: s.grad,
        m: s.m,
        v: s.v,
        clip,
      },
      workgroups: { invocations: s.param.size },
      label: `adam ${s.param.toString()}`,
    });
  }
}

/** One Adam update in place (float64 reference of the shader's arithmetic). */
export function adamRef(
  param: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  h: AdamHyper,
  clipScale = 1,
): void {
  const bias1 = 1 - h.beta1 ** h.step;
  const bias2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < param.length; i++) {
    const g = grad[i] * clipScale;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    param[i] -= (h.lr / bias1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bias2) + h.eps);
  }
}

/** min(1, maxNorm / ‖g‖) over all gradients. */
export function clipScaleRef(grads: readonly ArrayLike<number>[], maxNorm: number): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.min(1, maxNorm / (Math.sqrt(s) + 1e-6));
}
