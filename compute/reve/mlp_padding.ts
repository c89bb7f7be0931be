/**
 * The MLP hidden width padded to a multiple of 4 on the GPU. reve-base's hidden width is 1361, and
 * a matmul whose inner size is a multiple of 4 reads its rows as vec4 runs (kernels/matmul.ts), so
 * the down-projection weight gets zero columns and the up-projection zero rows at upload: the
 * padded hidden units are exactly 0 (GELU(0) = 0, and 0 · GELU(0) = 0 for GEGLU) and meet zero
 * weights, so every output is unchanged.
 */
import { mlpHidden, type ReveConfig } from "./config.ts";
import type { HostTensor } from "./weights.ts";

const ALIGN = 4;

/** The hidden width the GPU model computes with: `mlpHidden(cfg)` rounded up to a multiple of 4. */
export function paddedMlpHidden(cfg: ReveConfig): number {
  return Math.ceil(mlpHidden(cfg) / ALIGN) * ALIGN;
}

/**
 * `net.1.weight` [parts·hidden, D] → [parts·padded, D]: each part (value and gate for GEGLU, one
 * part otherwise) keeps its rows and gains zero rows after them.
 */
export function padMlpInWeight(
  w: HostTensor,
  hidden: number,
  padded: number,
  parts: 1 | 2,
): HostTensor {
  const [rows, d] = w.shape;
  if (rows !== parts * hidden) {
    throw new RangeError(`padMlpInWeight: expected ${parts * hidden} rows, got [${w.shape}]`);
  }
  if (padded === hidden) return w;
  const data = new Float32Array(parts * padded * d);
  for (let p = 0; p < parts; p++) {
    data.set(w.data.subarray(p * hidden * d, (p + 1) * hidden * d), p * padded * d);
  }
  return { shape: [parts * padded, d], data };
}

/** `net.3.weight` [D, hidden] → [D, padded]: zero columns after each row's `hidden` values. */
export function padMlpOutWeight(w: HostTensor, hidden: number, padded: number): HostTensor {
  const [d, cols] = w.shape;
  if (cols !== hidden) {
    throw new RangeError(`padMlpOutWeight: expected ${hidden} columns, got [${w.shape}]`);
  }
  if (padded === hidden) return w;
  const data = new Float32Array(d * padded);
  for (let r = 0; r < d; r++) {
    data.set(w.data.subarray(r * hidden, (r + 1) * hidden), r * padded);
  }
  return { shape: [d, padded], data };
}
