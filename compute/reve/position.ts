/**
 * Host-side inputs of REVE's position embedding for a batch: the float64 Fourier branch (rounded
 * to float32 for upload) and the raw `(x, y, z, t=i)` rows the learned `mlp4d` branch reads.
 * Trials sharing a montage share one Fourier computation.
 */
import type { ReveConfig } from "./config.ts";
import { fourierEmbedding } from "./fourier.ts";
import { type ReveInput, trialPositions } from "./input.ts";

export interface PositionInputs {
  /** `[B·C·p, D]`. */
  fourier: Float32Array<ArrayBuffer>;
  /** `[B·C·p, 4]`. */
  xyzt: Float32Array<ArrayBuffer>;
}

export function positionInputs(cfg: ReveConfig, input: ReveInput, patches: number): PositionInputs {
  const { batch: B, channels: C } = input;
  const D = cfg.embedDim;
  const N = C * patches;
  const fourier = new Float32Array(B * N * D);
  const xyzt = new Float32Array(B * N * 4);
  let previous: Float32Array | undefined;
  for (let b = 0; b < B; b++) {
    const pos = trialPositions(input, b);
    if (previous && sameValues(previous, pos)) {
      fourier.copyWithin(b * N * D, (b - 1) * N * D, b * N * D);
    } else fourier.set(fourierEmbedding(pos, C, patches, D, cfg.freqs), b * N * D);
    previous = pos;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < patches; i++) {
        xyzt.set([pos[c * 3], pos[c * 3 + 1], pos[c * 3 + 2], i], (b * N + c * patches + i) * 4);
      }
    }
  }
  return { fourier, xyzt };
}

function sameValues(a: Float32Array, b: Float32Array): boolean {
  if (a === b) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
