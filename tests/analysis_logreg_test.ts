import assert from "node:assert/strict";
import { fitLogisticRegression, predictClasses } from "../compute/analysis/logistic_regression.ts";
import { matrix } from "../compute/analysis/matrix.ts";
import { Rng } from "../compute/data/rng.ts";

function assertClose(actual: number, expected: number, tol: number): void {
  assert.ok(
    Math.abs(actual - expected) <= tol,
    `${actual} differs from ${expected} by more than ${tol}`,
  );
}

/** Three overlapping Gaussian classes in d dimensions, with unequal feature scales and offsets. */
function problem(n: number, d: number, k: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float64Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % k;
    for (let j = 0; j < d; j++) {
      const centre = j % k === y[i] ? 1.2 : 0;
      x[i * d + j] = (centre + rng.normal()) * (1 + j) + 3 * j;
    }
  }
  return { x, y };
}

/** Independent reference: standardise, then Newton's method in float64 on sklearn's objective. */
function newtonReference(
  x: Float64Array,
  y: Int32Array,
  n: number,
  d: number,
  k: number,
  c: number,
) {
  const xs = new Float64Array(n * d);
  for (let j = 0; j < d; j++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[i * d + j] / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[i * d + j] - mean) ** 2 / n;
    for (let i = 0; i < n; i++) xs[i * d + j] = (x[i * d + j] - mean) / Math.sqrt(v);
  }
  const m = k * (d + 1);
  const theta = new Float64Array(m); // (class c, column j) at c·(d+1)+j; column d is the intercept
  const lambda = 1 / (c * n);
  const feature = (i: number, j: number) => (j === d ? 1 : xs[i * d + j]);
  let loss = 0;
  for (let iter = 0; iter < 100; iter++) {
    const g = new Float64Array(m);
    const h = Array.from({ length: m }, () => new Float64Array(m));
    loss = 0;
    for (let i = 0; i < n; i++) {
      const s = new Float64Array(k);
      for (let a = 0; a < k; a++) {
        for (let j = 0; j <= d; j++) s[a] += theta[a * (d + 1) + j] * feature(i, j);
      }
      const mx = Math.max(...s);
      const z = s.reduce((acc, v) => acc + Math.exp(v - mx), 0);
      const p = s.map((v) => Math.exp(v - mx) / z);
      loss += (mx + Math.log(z) - s[y[i]]) / n;
      for (let a = 0; a < k; a++) {
        for (let j = 0; j <= d; j++) {
          g[a * (d + 1) + j] += ((p[a] - (y[i] === a ? 1 : 0)) * feature(i, j)) / n;
          for (let b = 0; b < k; b++) {
            const w = (a === b ? p[a] : 0) - p[a] * p[b];
            for (let l = 0; l <= d; l++) {
              h[a * (d + 1) + j][b * (d + 1) + l] += (w * feature(i, j) * feature(i, l)) / n;
            }
          }
        }
      }
    }
    for (let a = 0; a < k; a++) {
      for (let j = 0; j < d; j++) {
        const q = a * (d + 1) + j;
        loss += 0.5 * lambda * theta[q] ** 2;
        g[q] += lambda * theta[q];
        h[q][q] += lambda;
      }
    }
    // Intercepts are defined up to a common shift: add the shift direction to the Hessian so it is
    // invertible; the gradient is orthogonal to it, so the step is unchanged elsewhere.
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) h[a * (d + 1) + d][b * (d + 1) + d] += 1;
    }
    const step = solve(h, g);
    for (let q = 0; q < m; q++) theta[q] -= step[q];
    if (Math.max(...g.map(Math.abs)) < 1e-15) break;
  }
  return { theta, loss };
}

function solve(a: Float64Array[], b: Float64Array): Float64Array {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[piv][col])) piv = r;
    [m[col], m[piv]] = [m[piv], m[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = m[r][col] / m[col][col];
      for (let c = col; c <= n; c++) m[r][c] -= f * m[col][c];
    }
  }
  return Float64Array.from(m.map((row, i) => row[n] / row[i]));
}

Deno.test("L-BFGS matches an independent float64 Newton solution in loss and coefficients", () => {
  const n = 90, d = 4, k = 3;
  for (const c of [0.05, 1]) {
    const { x, y } = problem(n, d, k, 7);
    const ref = newtonReference(x, y, n, d, k, c);
    const model = fitLogisticRegression(matrix(x, n, d), y, k, { c, gradientTolerance: 1e-9 });
    assert.ok(model.convergence.converged, JSON.stringify(model.convergence));
    assert.deepEqual(model.convergence.reason, "gradient_tolerance");
    assert.ok(model.convergence.gradientNorm <= 1e-9);
    assertClose(model.convergence.loss, ref.loss, 1e-12);
    const refMeanB = [0, 1, 2].reduce((s, a) => s + ref.theta[a * (d + 1) + d], 0) / k;
    const meanB = model.intercepts.reduce((s, v) => s + v, 0) / k;
    for (let a = 0; a < k; a++) {
      for (let j = 0; j < d; j++) {
        assertClose(model.weights[a * d + j], ref.theta[a * (d + 1) + j], 1e-7);
      }
      assertClose(model.intercepts[a] - meanB, ref.theta[a * (d + 1) + d] - refMeanB, 1e-7);
    }
  }
});

Deno.test("the fitted probe separates separable classes and predicts them", () => {
  const { x, y } = problem(120, 6, 3, 3);
  const model = fitLogisticRegression(matrix(x, 120, 6), y, 3, { c: 1 });
  assert.ok(model.convergence.converged);
  const pred = predictClasses(model, matrix(x, 120, 6));
  const acc = pred.reduce((s, p, i) => s + (p === y[i] ? 1 : 0), 0) / 120;
  assert.ok(acc > 0.8, `training accuracy ${acc}`);
});

Deno.test("an iteration cap is reported as not converged", () => {
  const { x, y } = problem(60, 4, 3, 5);
  const model = fitLogisticRegression(matrix(x, 60, 4), y, 3, {
    c: 10,
    maxIterations: 2,
    gradientTolerance: 1e-12,
  });
  assert.deepEqual(model.convergence.converged, false);
  assert.deepEqual(model.convergence.reason, "max_iterations");
  assert.deepEqual(model.convergence.iterations, 2);
  assert.ok(model.convergence.gradientNorm > 1e-12);
});

Deno.test("constant columns are harmless and bad labels are named", () => {
  const { x, y } = problem(30, 2, 3, 9);
  const withConst = new Float64Array(30 * 3);
  for (let i = 0; i < 30; i++) withConst.set([x[i * 2], x[i * 2 + 1], 0], i * 3);
  const m = fitLogisticRegression(matrix(withConst, 30, 3), y, 3, { c: 1 });
  assert.ok(m.convergence.converged);
  for (let a = 0; a < 3; a++) assert.deepEqual(m.weights[a * 3 + 2], 0);
  assert.throws(
    () => fitLogisticRegression(matrix(x, 30, 2), y.map((v) => v + 1), 3, { c: 1 }),
    { name: "LogisticRegressionError", message: /label 3 is outside 0\.\.2/ },
  );
});
