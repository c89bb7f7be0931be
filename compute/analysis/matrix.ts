/** Row-major dense matrices for the CPU analyses (probe inputs, pooled features). */
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

/** The given rows, in the given order (same element type as the input). */
export function selectRows(m: Matrix, rows: ArrayLike<number>): Matrix {
  const out = m.data instanceof Float64Array
    ? new Float64Array(rows.length * m.cols)
    : new Float32Array(rows.length * m.cols);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r];
    if (src < 0 || src >= m.rows) {
      throw new MatrixShapeError(`row ${src} is outside 0..${m.rows - 1}`);
    }
    out.set(m.data.subarray(src * m.cols, (src + 1) * m.cols), r * m.cols);
  }
  return { data: out, rows: rows.length, cols: m.cols };
}

/** The given columns, in the given order (same element type as the input). */
export function selectColumns(m: Matrix, cols: ArrayLike<number>): Matrix {
  for (let j = 0; j < cols.length; j++) {
    if (cols[j] < 0 || cols[j] >= m.cols) {
      throw new MatrixShapeError(`column ${cols[j]} is outside 0..${m.cols - 1}`);
    }
  }
  const out = m.data instanceof Float64Array
    ? new Float64Array(m.rows * cols.length)
    : new Float32Array(m.rows * cols.length);
  for (let r = 0; r < m.rows; r++) {
    const base = r * m.cols;
    const dst = r * cols.length;
    for (let j = 0; j < cols.length; j++) out[dst + j] = m.data[base + cols[j]];
  }
  return { data: out, rows: m.rows, cols: cols.length };
}

/** Columns of several matrices with the same rows side by side. */
export function concatColumns(parts: readonly Matrix[]): Matrix {
  if (parts.length === 0) throw new MatrixShapeError("concatColumns: no matrices given");
  const rows = parts[0].rows;
  for (const p of parts) {
    if (p.rows !== rows) {
      throw new MatrixShapeError(`concatColumns: row counts differ (${rows} vs ${p.rows})`);
    }
  }
  const cols = parts.reduce((s, p) => s + p.cols, 0);
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let offset = r * cols;
    for (const p of parts) {
      out.set(p.data.subarray(r * p.cols, (r + 1) * p.cols), offset);
      offset += p.cols;
    }
  }
  return { data: out, rows, cols };
}
