/** Top-K class-specific masking, class scores and subject splits on planted, hand-checkable data. */
import assert from "node:assert/strict";
import { matrix } from "../compute/analysis/matrix.ts";
import {
  classFeatureScores,
  oracleTopKCurve,
  probeColumns,
  topKCurve,
  topKPerClass,
  unionOfFeatures,
} from "../compute/analysis/topk_masking.ts";
import {
  allLeaveOneSubjectOut,
  cbramodSplit,
  leaveOneSubjectOut,
} from "../compute/analysis/splits.ts";
import { DEFAULT_PROBE_FIT } from "../compute/analysis/probe_fit.ts";
import { Rng } from "../compute/data/rng.ts";

const K = 4;
const D = 30;
const BIG = 10; // large for every class: the top by mean, never by selectivity
const TEST_ONLY = 11; // class-specific only on test subjects: must never be chosen

/** 9 subjects × 24 trials; feature c is raised for class c; feature BIG is large everywhere. */
function planted() {
  const rng = new Rng(11);
  const n = 9 * 24;
  const x = new Float32Array(n * D);
  const labels = new Int32Array(n);
  const subjects = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % K;
    subjects[i] = 1 + Math.floor(i / 24);
    for (let j = 0; j < D; j++) x[i * D + j] = Math.abs(rng.normal()) * 0.3;
    x[i * D + labels[i]] += 1.5;
    x[i * D + BIG] += 5 + rng.normal() * 0.3;
    if (subjects[i] >= 8 && labels[i] === 3) x[i * D + TEST_ONLY] += 3;
  }
  return { x: matrix(x, n, D), labels, subjects, n };
}

Deno.test("class scores by mean and by selectivity match hand computation", () => {
  // rows: class 0: [1, 4], [3, 4]; class 1: [5, 4]
  const x = matrix(new Float32Array([1, 4, 3, 4, 5, 4]), 3, 2);
  const labels = new Int32Array([0, 0, 1]);
  const rows = new Int32Array([0, 1, 2]);
  assert.deepEqual(Array.from(classFeatureScores(x, labels, rows, 2, "mean")), [2, 4, 5, 4]);
  // feature 0: mean 3, population sd sqrt(8/3); class 0 vs rest: (2 − 5)/sd; class 1: (5 − 2)/sd
  const sd = Math.sqrt(8 / 3);
  const sel = classFeatureScores(x, labels, rows, 2, "selectivity");
  assert.ok(Math.abs(sel[0] - -3 / sd) < 1e-6 && Math.abs(sel[2] - 3 / sd) < 1e-6);
  assert.ok(
    Math.abs(sel[1]) < 1e-6 && Math.abs(sel[3]) < 1e-6,
    "constant feature is not selective",
  );
  // Only the given rows count.
  assert.deepEqual(
    Array.from(classFeatureScores(x, labels, new Int32Array([1, 2]), 2, "mean")),
    [3, 4, 5, 4],
  );
});

Deno.test("top-K lists, ties and unions", () => {
  const scores = new Float64Array([3, 1, 3, 2, /* class 1 */ 0, 5, 1, 5]);
  assert.deepEqual(topKPerClass(scores, 2, 2), [[0, 2], [1, 3]]);
  assert.deepEqual(Array.from(unionOfFeatures([[3, 1], [1, 0]])), [0, 1, 3]);
  assert.deepEqual(Array.from(probeColumns(new Int32Array([1, 3]), 5, 2)), [1, 3, 6, 8]);
});

Deno.test("selectivity finds the planted features from training trials only", () => {
  const { x, labels, subjects } = planted();
  const split = leaveOneSubjectOut(subjects, 9);
  const bySel = topKPerClass(classFeatureScores(x, labels, split.train, K, "selectivity"), K, 1);
  assert.deepEqual(bySel, [[0], [1], [2], [3]]);
  const byMean = topKPerClass(classFeatureScores(x, labels, split.train, K, "mean"), K, 1);
  assert.deepEqual(byMean, [[BIG], [BIG], [BIG], [BIG]]);
  // TEST_ONLY marks class 3 perfectly on subjects 8–9, which the CBraMod split holds out of
  // selection; ranked on those subjects' trials it is among class 3's top two.
  const cb = cbramodSplit(subjects);
  const cbSel = topKPerClass(classFeatureScores(x, labels, cb.train, K, "selectivity"), K, 2);
  assert.ok(!cbSel.flat().includes(TEST_ONLY), JSON.stringify(cbSel));
  const leak = topKPerClass(classFeatureScores(x, labels, cb.test, K, "selectivity"), K, 2);
  assert.ok(leak.flat().includes(TEST_ONLY), "the leak check must be able to fail");
});

Deno.test("the K curve: planted features decode held-out trials; union sizes are right", () => {
  const { x, labels, subjects } = planted();
  // Probe input with two blocks (as mean- and max-pooled features).
  const two = new Float32Array(x.rows * 2 * D);
  for (let i = 0; i < x.rows; i++) {
    two.set(x.data.subarray(i * D, (i + 1) * D), i * 2 * D);
    two.set(x.data.subarray(i * D, (i + 1) * D), i * 2 * D + D);
  }
  const inputs = { selection: x, probeInput: matrix(two, x.rows, 2 * D), labels, nClasses: K };
  const split = leaveOneSubjectOut(subjects, 3);
  const fit = { ...DEFAULT_PROBE_FIT, c: 1 };
  const sel = topKCurve(inputs, split, "selectivity", [1, 2, "all"], fit);
  assert.deepEqual(sel.map((p) => p.nFeatures), [4, 8, D]);
  assert.ok(
    sel[0].evaluation.test.accuracy >= 0.9,
    `K=1 accuracy ${sel[0].evaluation.test.accuracy}`,
  );
  assert.equal(sel[0].evaluation.nFeatures, 8, "both blocks of the 4 kept features");
  assert.ok(sel.every((p) => p.evaluation.convergence.converged));
  const mean = topKCurve(inputs, split, "mean", [1], fit);
  assert.equal(mean[0].nFeatures, 1);
  assert.ok(mean[0].evaluation.test.accuracy < 0.5, "the shared feature carries no class");
  const oracle = oracleTopKCurve(inputs, split, "mean", [1], fit);
  assert.equal(oracle[0].oracle, true);
});

Deno.test("subject splits", () => {
  const subjects = new Int32Array([1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9]);
  const s = leaveOneSubjectOut(subjects, 9);
  assert.deepEqual(Array.from(s.test), [9, 10]);
  assert.equal(s.train.length, 9);
  assert.deepEqual(s.trainSubjects, [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(allLeaveOneSubjectOut(subjects).length, 9);
  const cb = cbramodSplit(subjects);
  assert.deepEqual([cb.train.length, cb.validation.length, cb.test.length], [6, 2, 3]);
  assert.throws(() => leaveOneSubjectOut(subjects, 12), { name: "SplitError", message: /12/ });
  assert.throws(() => cbramodSplit(new Int32Array([1, 2])), {
    name: "SplitError",
    message: /no validation trials/,
  });
});
