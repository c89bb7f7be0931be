import assert from "node:assert/strict";
import { classificationMetrics, cohenKappa, confusionMatrix } from "../compute/analysis/metrics.ts";

function assertClose(actual: number, expected: number, tol: number): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${actual} differs from ${expected} by more than ${tol}`,
  );
}

// truth/pred worked by hand: confusion [[2,1,0],[0,1,1],[1,1,3]].
const truth = [0, 0, 0, 1, 1, 2, 2, 2, 2, 2];
const pred = [0, 0, 1, 1, 2, 2, 2, 2, 0, 1];

Deno.test("confusion matrix counts [true][predicted]", () => {
  assert.deepEqual(confusionMatrix(truth, pred, 3), [[2, 1, 0], [0, 1, 1], [1, 1, 3]]);
});

Deno.test("metrics match hand-computed values", () => {
  const m = classificationMetrics(truth, pred, 3);
  assertClose(m.accuracy, 0.6, 1e-12);
  // recalls 2/3, 1/2, 3/5
  assertClose(m.balancedAccuracy, 53 / 90, 1e-12);
  // p_o = 0.6, p_e = (3·3 + 2·3 + 5·4)/100 = 0.35
  assertClose(m.cohenKappa, 5 / 13, 1e-12);
  // F1 per class 2/3, 2/5, 2/3 weighted by supports 3, 2, 5
  assertClose(m.weightedF1, 46 / 75, 1e-12);
  assert.deepEqual(m.n, 10);
});

Deno.test("perfect and chance-level predictions", () => {
  const perfect = classificationMetrics([0, 1, 2, 3], [0, 1, 2, 3], 4);
  assert.deepEqual([perfect.accuracy, perfect.balancedAccuracy, perfect.cohenKappa], [1, 1, 1]);
  assertClose(perfect.weightedF1, 1, 1e-12);
  // Always predicting class 0 on balanced data: kappa 0, balanced accuracy 1/2.
  const constant = classificationMetrics([0, 0, 1, 1], [0, 0, 0, 0], 2);
  assertClose(constant.cohenKappa, 0, 1e-12);
  assertClose(constant.balancedAccuracy, 0.5, 1e-12);
  // F1: class 0 = 2·2/(2+4) = 2/3, class 1 = 0 → weighted 1/3.
  assertClose(constant.weightedF1, 1 / 3, 1e-12);
  assert.deepEqual(cohenKappa([[4, 0], [0, 0]]), 0);
});

Deno.test("classes absent from the truth do not count in balanced accuracy", () => {
  const m = classificationMetrics([0, 0, 1], [0, 2, 1], 3);
  assertClose(m.balancedAccuracy, (1 / 2 + 1) / 2, 1e-12);
});

Deno.test("bad labels are named", () => {
  assert.throws(() => confusionMatrix([0, 5], [0, 1], 3), {
    name: "MetricsError",
    message: /\(5, 1\) at 1/,
  });
  assert.throws(() => confusionMatrix([0], [0, 1], 3), {
    name: "MetricsError",
    message: /1 true labels but 2/,
  });
});
