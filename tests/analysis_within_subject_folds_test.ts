/** Within-subject K-fold cross-validation: stratified, each fold contiguous in time, disjoint. */
import assert from "node:assert/strict";
import { SplitError, withinSubjectFolds } from "../compute/analysis/splits.ts";
import { throwsWith } from "./fixtures/data_helpers.ts";

Deno.test("within-subject folds: stratified, contiguous blocks of each class in time order", () => {
  // Ten trials of class 0 and five of class 1, interleaved as a recording presents them.
  const labels = Int32Array.from([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
  const subjects = new Int32Array(labels.length).fill(1);
  const folds = withinSubjectFolds(subjects, labels, 5);
  assert.deepEqual(folds.map((f) => f.name), ["cv5-f1", "cv5-f2", "cv5-f3", "cv5-f4", "cv5-f5"]);
  const class0 = [0, 2, 3, 5, 6, 8, 9, 11, 12, 14];
  const class1 = [1, 4, 7, 10, 13];
  folds.forEach((f, k) => {
    // Fold k tests the k-th fifth of each class's trials in time order.
    assert.deepEqual(
      [...f.test],
      [...class0.slice(2 * k, 2 * k + 2), class1[k]].sort((a, b) => a - b),
    );
    assert.equal(f.train.length + f.test.length, labels.length);
    assert.ok([...f.test].every((i) => !f.train.includes(i)));
  });
  // Every trial is tested exactly once.
  assert.deepEqual(folds.flatMap((f) => [...f.test]).sort((a, b) => a - b), [...labels.keys()]);
});

Deno.test("within-subject folds: unlabelled trials are left out; too few trials is an error", () => {
  const labels = Int32Array.from([0, -1, 1, 0, 1]);
  const folds = withinSubjectFolds(new Int32Array(5), labels, 2);
  assert.ok(folds.every((f) => !f.train.includes(1) && !f.test.includes(1)));
  throwsWith(
    () => withinSubjectFolds(new Int32Array(5), labels, 3),
    SplitError,
    "subject 0 has 2 trials of class 0, fewer than 3 folds",
  );
  throwsWith(
    () => withinSubjectFolds(new Int32Array(5), labels, 1),
    SplitError,
    "--cv_folds must be 2",
  );
});
