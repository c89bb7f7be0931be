/**
 * Probe designs read in place: row and column views of column blocks side by side, standardised
 * as they are read, against explicit copies built here (the CPU reference).
 */
import assert from "node:assert/strict";
import { type Matrix, matrix } from "../compute/analysis/matrix.ts";
import {
  designColumns,
  type DesignMatrix,
  designRows,
  readDesignRow,
  sideBySide,
} from "../compute/analysis/design_matrix.ts";
import {
  fitLogisticRegression,
  fitStandardiser,
  logisticObjective,
  predictProbabilities,
} from "../compute/analysis/logistic_regression.ts";
import { Rng } from "../compute/data/rng.ts";

function randomBlock(rng: Rng, rows: number, cols: number, offset: number): Matrix {
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < data.length; i++) data[i] = offset + rng.normal() * (1 + (i % cols));
  return matrix(data, rows, cols);
}

/** Reference: the design copied out element by element, as float64. */
function copyOf(
  blocks: Matrix[],
  rows: number[],
  cols: number[],
): { data: Float64Array; rows: number; cols: number } {
  const width = blocks.reduce((s, b) => s + b.cols, 0);
  const value = (r: number, c: number) => {
    for (const b of blocks) {
      if (c < b.cols) return b.data[r * b.cols + c];
      c -= b.cols;
    }
    throw new Error(`column ${c} outside ${width}`);
  };
  const data = new Float64Array(rows.length * cols.length);
  rows.forEach((r, i) => cols.forEach((c, j) => data[i * cols.length + j] = value(r, c)));
  return { data, rows: rows.length, cols: cols.length };
}

function rowsOf(x: DesignMatrix, standardiser?: { mean: Float64Array; scale: Float64Array }) {
  const out = new Float64Array(x.rows * x.cols);
  const row = new Float64Array(x.cols);
  for (let r = 0; r < x.rows; r++) {
    readDesignRow(x, r, row, standardiser);
    out.set(row, r * x.cols);
  }
  return out;
}

const N = 12;

function blocks() {
  const rng = new Rng(5);
  return [randomBlock(rng, N, 4, 3), randomBlock(rng, N, 3, -1)];
}

Deno.test("row and column views of blocks side by side equal the copied design", () => {
  const [a, b] = blocks();
  const whole = sideBySide([a, b]);
  assert.equal(whole.cols, 7);
  const all = Array.from({ length: 7 }, (_, j) => j);
  assert.deepEqual(rowsOf(whole), copyOf([a, b], [...Array(N).keys()], all).data);
  // Rows of rows, then columns that cross the blocks in a mixed order.
  const rows = designRows(designRows(whole, [11, 3, 5, 0, 7]), [4, 0, 2]);
  const cols = [6, 0, 5, 1, 4, 3];
  const view = designColumns(rows, cols);
  assert.deepEqual([view.rows, view.cols], [3, 6]);
  assert.deepEqual(rowsOf(view), copyOf([a, b], [7, 11, 5], cols).data);
  // Columns of columns, then rows.
  const again = designRows(designColumns(designColumns(whole, cols), [1, 2, 5]), [1, 1]);
  assert.deepEqual(rowsOf(again), copyOf([a, b], [1, 1], [0, 5, 3]).data);
  assert.throws(() => designRows(whole, [N]), { name: "MatrixShapeError", message: /row 12/ });
  assert.throws(() => designColumns(view, [6]), {
    name: "MatrixShapeError",
    message: /column 6 is outside 0\.\.5/,
  });
});

Deno.test("views read the pooled arrays in place, never a copy", () => {
  const [a, b] = blocks();
  const view = designColumns(designRows(sideBySide([a, b]), [2, 9]), [5, 1]);
  for (const p of view.parts) assert.ok(p.source.data === a.data || p.source.data === b.data);
  const row = new Float64Array(2);
  readDesignRow(view, 1, row);
  assert.deepEqual(Array.from(row), [b.data[9 * 3 + 1], a.data[9 * 4 + 1]]);
  // A later write to the pooled arrays shows through the view.
  a.data[9 * 4 + 1] = 123;
  b.data[9 * 3 + 1] = -7;
  readDesignRow(view, 1, row);
  assert.deepEqual(Array.from(row), [-7, 123]);
});

Deno.test("standardising as rows are read matches a standardised copy", () => {
  const [a, b] = blocks();
  const view = designColumns(designRows(sideBySide([a, b]), [0, 2, 3, 5, 8, 9, 10, 11]), [
    0,
    4,
    6,
    2,
  ]);
  const ref = copyOf([a, b], [0, 2, 3, 5, 8, 9, 10, 11], [0, 4, 6, 2]);
  const s = fitStandardiser(view);
  for (let j = 0; j < ref.cols; j++) {
    let mean = 0;
    for (let i = 0; i < ref.rows; i++) mean += ref.data[i * ref.cols + j];
    mean /= ref.rows;
    let v = 0;
    for (let i = 0; i < ref.rows; i++) v += (ref.data[i * ref.cols + j] - mean) ** 2;
    assert.ok(Math.abs(s.mean[j] - mean) <= 1e-12 * Math.abs(mean) + 1e-15);
    assert.ok(Math.abs(s.scale[j] - Math.sqrt(v / ref.rows)) <= 1e-12 * s.scale[j]);
  }
  const standardised = ref.data.map((x, i) => (x - s.mean[i % ref.cols]) / s.scale[i % ref.cols]);
  assert.deepEqual(rowsOf(view, s), standardised);
  // The objective and gradient on the view equal those on the standardised copy.
  const labels = new Int32Array([0, 1, 2, 0, 1, 2, 0, 1]);
  const params = Float64Array.from({ length: 3 * 4 + 3 }, (_, i) => Math.sin(i + 1));
  const gView = new Float64Array(params.length);
  const gCopy = new Float64Array(params.length);
  const copy = matrix(standardised, ref.rows, ref.cols);
  const fView = logisticObjective(params, view, labels, 3, 0.5, gView, s);
  const fCopy = logisticObjective(params, copy, labels, 3, 0.5, gCopy);
  assert.equal(fView, fCopy);
  assert.deepEqual(gView, gCopy);
});

Deno.test("a probe fitted on a view is the probe fitted on the copied design", () => {
  const rng = new Rng(17);
  const n = 60;
  const a = randomBlock(rng, n, 5, 2);
  const b = randomBlock(rng, n, 4, 0);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 3;
    a.data[i * 5 + labels[i]] += 2;
    b.data[i * 4 + labels[i]] += 1.5;
  }
  const rows = Array.from({ length: 45 }, (_, i) => (i * 7) % n);
  const cols = [0, 1, 2, 5, 6, 7];
  const view = designColumns(designRows(sideBySide([a, b]), rows), cols);
  const ref = copyOf([a, b], rows, cols);
  const y = Int32Array.from(rows, (r) => labels[r]);
  const options = { c: 0.5, gradientTolerance: 1e-8 };
  const onView = fitLogisticRegression(view, y, 3, options);
  const onCopy = fitLogisticRegression(matrix(ref.data, ref.rows, ref.cols), y, 3, options);
  assert.ok(onCopy.convergence.converged);
  assert.deepEqual(onView.weights, onCopy.weights);
  assert.deepEqual(onView.intercepts, onCopy.intercepts);
  assert.deepEqual(onView.convergence, onCopy.convergence);
  assert.deepEqual(predictProbabilities(onView, view), predictProbabilities(onCopy, ref));
});
