/**
 * Patch unfold (`shaders/patch_embed.wgsl`): `eeg [B, C, T]` → `patches [B·C·p, P]` with
 * `unfold(size=P, step)`, channel-major rows `(b·C + c)·p + i`; the patch embedding itself is a
 * matmul on the result. Plus the plain CPU reference.
 */
import { type CommandBatch, ShapeError, type Tensor, uniformFields } from "../compute/gpu/mod.ts";

/** Records the unfold. `patches` must be `[B·C·p, P]` with `p = floor((T−P)/step)+1`. */
export function unfoldPatches(
  batch: CommandBatch,
  eeg: Tensor,
  patches: Tensor,
  size: number,
  step: number,
): void {
  if (eeg.shape.length !== 3) throw new ShapeError(`unfoldPatches: eeg ${eeg} must be [B, C, T]`);
  const [B, C, T] = eeg.shape;
  if (T < size || step < 1) {
    throw new ShapeError(
      `unfoldPatches: ${T} samples cannot hold a patch of ${size} (step ${step})`,
    );
  }
  const p = Math.floor((T - size) / step) + 1;
  if (patches.shape.length !== 2 || patches.shape[0] !== B * C * p || patches.shape[1] !== size) {
    throw new ShapeError(`unfoldPatches: patches ${patches} must be [${B * C * p}, ${size}]`);
  }
  const count = patches.size;
  if (count === 0) return;
  batch.dispatch({
    shader: "patch_embed.wgsl",
    entryPoint: "unfold",
    bindings: {
      eeg,
      patches,
      params: uniformFields({ count, patches: p, samples: T, size, step }),
    },
    workgroups: { invocations: count },
    label: `unfold eeg[${eeg.shape}] → patches[${patches.shape}] step ${step}`,
  });
}

/** CPU reference of the unfold. */
export function unfoldPatchesRef(
  eeg: ArrayLike<number>,
  traces: number,
  samples: number,
  size: number,
  step: number,
): Float32Array {
  const p = Math.floor((samples - size) / step) + 1;
  const out = new Float32Array(traces * p * size);
  for (let t = 0; t < traces; t++) {
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < size; j++) out[(t * p + i) * size + j] = eeg[t * samples + i * step + j];
    }
  }
  return out;
}
