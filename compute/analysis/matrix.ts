/**
 * Row-major dense matrices for the CPU analyses (pooled features); the probe reads them through
 * views (design_matrix.ts) rather than copies.
 */
import { EegSaeError } from "../util/errors.ts";

export type MatrixData = Float32Array | Float64Array;

export interface Matrix {
  data: MatrixData;
  rows: number;
  cols: number;
}

export class MatrixShapeError extends EegSaeError {}

/** Wraps row-major data, checking that its length is rows × cols. */
export function matrix(data: MatrixData, rows: number, cols: number, what = "matrix"): Matrix {
  if (data.length !== rows * cols) {
    throw new MatrixShapeError(
      `${what}: expected ${rows} × ${cols} = ${rows * cols} values, got ${data.length}`,
    );
  }
  return { data, rows, cols };
}
