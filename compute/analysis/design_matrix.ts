/**
 * Probe designs read in place: column blocks side by side (e.g. mean- and max-pooled SAE
 * features), a subset of their rows (a split's training trials) and of their columns (the kept
 * features of a top-K mask), without copying the pooled data. At full scale one copy of a design
 * is trials × 2·d_sae values (hundreds of MB), so the probe reads rows through views instead.
 */
import { type Matrix, MatrixShapeError } from "./matrix.ts";

/** Consecutive design columns taken from one source matrix. */
export interface DesignPart {
  source: Matrix;
  /** The source's columns, in design order; null for all of them. */
  columns: Int32Array | null;
}

export interface DesignMatrix {
  /** Side by side, in order; every source has the same rows. */
  parts: readonly DesignPart[];
  /** The source row of each design row. */
  rowIndex: Int32Array;
  rows: number;
  cols: number;
}

function isDesign(x: Matrix | DesignMatrix): x is DesignMatrix {
  return "parts" in x;
}

function allRows(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return out;
}

function partCols(p: DesignPart): number {
  return p.columns ? p.columns.length : p.source.cols;
}

/** Column blocks with the same rows side by side (the first block's columns first). */
export function sideBySide(blocks: readonly Matrix[]): DesignMatrix {
  if (blocks.length === 0) throw new MatrixShapeError("sideBySide: no matrices given");
  const rows = blocks[0].rows;
  for (const b of blocks) {
    if (b.rows !== rows) {
      throw new MatrixShapeError(`sideBySide: row counts differ (${rows} vs ${b.rows})`);
    }
  }
  const parts = blocks.map((source) => ({ source, columns: null }));
  return { parts, rowIndex: allRows(rows), rows, cols: blocks.reduce((s, b) => s + b.cols, 0) };
}

/** A matrix as a design (no copy); a design is returned as it is. */
export function asDesign(x: Matrix | DesignMatrix): DesignMatrix {
  return isDesign(x) ? x : sideBySide([x]);
}

/** The given design rows, in the given order (no copy of the data). */
export function designRows(x: Matrix | DesignMatrix, rows: ArrayLike<number>): DesignMatrix {
  const d = asDesign(x);
  const rowIndex = new Int32Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const src = rows[r];
    if (!Number.isInteger(src) || src < 0 || src >= d.rows) {
      throw new MatrixShapeError(`row ${src} is outside 0..${d.rows - 1}`);
    }
    rowIndex[r] = d.rowIndex[src];
  }
  return { parts: d.parts, rowIndex, rows: rows.length, cols: d.cols };
}

/**
 * The given design columns, in the given order (no copy of the data): runs of columns from the
 * same source become one part.
 */
export function designColumns(x: Matrix | DesignMatrix, cols: ArrayLike<number>): DesignMatrix {
  const d = asDesign(x);
  // Design column → (part, source column).
  const partOf = new Int32Array(d.cols);
  const sourceCol = new Int32Array(d.cols);
  let offset = 0;
  d.parts.forEach((p, i) => {
    for (let j = 0; j < partCols(p); j++) {
      partOf[offset + j] = i;
      sourceCol[offset + j] = p.columns ? p.columns[j] : j;
    }
    offset += partCols(p);
  });
  const parts: DesignPart[] = [];
  let run: number[] = [];
  let runPart = -1;
  const close = () => {
    if (run.length > 0) {
      parts.push({ source: d.parts[runPart].source, columns: Int32Array.from(run) });
    }
  };
  for (let j = 0; j < cols.length; j++) {
    const c = cols[j];
    if (!Number.isInteger(c) || c < 0 || c >= d.cols) {
      throw new MatrixShapeError(`column ${c} is outside 0..${d.cols - 1}`);
    }
    if (partOf[c] !== runPart) {
      close();
      run = [];
      runPart = partOf[c];
    }
    run.push(sourceCol[c]);
  }
  close();
  return { parts, rowIndex: d.rowIndex, rows: d.rows, cols: cols.length };
}

/**
 * Writes design row r into out (length cols), standardised as (x − mean) / scale when a
 * standardiser is given. The caller's float64 buffer is the only per-row storage.
 */
export function readDesignRow(
  x: DesignMatrix,
  r: number,
  out: Float64Array,
  standardiser?: { mean: Float64Array; scale: Float64Array },
): void {
  const src = x.rowIndex[r];
  let o = 0;
  for (const p of x.parts) {
    const data = p.source.data;
    const base = src * p.source.cols;
    const cols = p.columns;
    const n = cols ? cols.length : p.source.cols;
    if (standardiser) {
      const { mean, scale } = standardiser;
      if (cols) {
        for (let j = 0; j < n; j++) {
          out[o + j] = (data[base + cols[j]] - mean[o + j]) / scale[o + j];
        }
      } else {
        for (let j = 0; j < n; j++) out[o + j] = (data[base + j] - mean[o + j]) / scale[o + j];
      }
    } else if (cols) {
      for (let j = 0; j < n; j++) out[o + j] = data[base + cols[j]];
    } else {
      for (let j = 0; j < n; j++) out[o + j] = data[base + j];
    }
    o += n;
  }
}
