/** Bindings for shaders/topk_rows.wgsl (per-row top-k in place) and its CPU reference. */
import { type CommandBatch, ShapeError, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import { grid1d } from "./grid.ts";
import { requireF32 } from "./checks.ts";

/**
 * z [rows, width] ← per row, the values that are positive and at least the row's k-th largest;
 * 0 elsewhere (all ties at the k-th value stay). z holds ReLU'd values: negatives count as 0.
 */
export function topkRowsInPlace(batch: CommandBatch, z: Tensor, k: number): void {
  const where = `topk_rows z[${z.shape}] k ${k}`;
  requireF32(where, { z });
  if (z.shape.length < 2 || !Number.isInteger(k) || k < 1) {
    throw new ShapeError(`${where}: need z [..., width] with at least 2 dimensions and k ≥ 1`);
  }
  const width = z.shape[z.shape.length - 1];
  const rows = z.size / Math.max(width, 1);
  if (rows === 0 || width === 0) return;
  batch.dispatch({
    shader: "topk_rows.wgsl",
    entryPoint: "topk_rows",
    bindings: { params: uniformFields({ rows, width, k }), z },
    workgroups: grid1d(rows, 1, batch.gpu.limits.maxComputeWorkgroupsPerDimension),
    label: where,
  });
}

/** CPU reference: keep v when v > 0 and v ≥ the row's k-th largest value. */
export function topkRowsRef(z: Float32Array, width: number, k: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length / width; r++) {
    const row = z.subarray(r * width, (r + 1) * width);
    const kth = k >= width ? 0 : Float32Array.from(row).sort()[width - k];
    for (let i = 0; i < width; i++) {
      const v = row[i];
      out[r * width + i] = v > 0 && v >= kth ? v : 0;
    }
  }
  return out;
}
