/** Feature statistics: the GPU accumulation against the CPU reference, and the finalised values by hand. */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu } from "../compute/gpu/mod.ts";
import {
  addBatch,
  addReconstructionBatch,
  entropyBits,
  finaliseFeatureStats,
  summariseReconstruction,
} from "../compute/analysis/feature_stats.ts";
import {
  emptyReconstructionTotals,
  emptyTotals,
  HISTOGRAM_BINS,
  histogramEdges,
} from "../kernels/feature_stats_layout.ts";
import { FeatureStatsGpu, gatherTopRef } from "../kernels/feature_stats.ts";
import { Rng } from "../compute/data/rng.ts";

function closeArrays(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string) {
  assert.equal(a.length, b.length, `${what}: lengths`);
  for (let i = 0; i < a.length; i++) {
    const scale = Math.max(1, Math.abs(b[i]));
    assert.ok(Math.abs(a[i] - b[i]) <= tol * scale, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
  }
}

/** Activations: ~40% zeros, log-normal positives kept away from the histogram bin edges. */
function activations(rng: Rng, n: number): Float32Array {
  const edges = histogramEdges();
  const z = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (rng.next() < 0.4) continue;
    let v: number;
    do v = Math.exp(rng.normal() * 2); while (
      edges.some((e) => Math.abs(Math.log10(v) - e) < 1e-4)
    );
    z[i] = v;
  }
  return z;
}

Deno.test("GPU feature statistics equal the CPU reference", async () => {
  const gpu = await getGpu();
  const rng = new Rng(3);
  const shape = { dSae: 70, nClasses: 3, tokensPerTrial: 6, topK: 4, dIn: 5, setTrials: 7 };
  const cpu = emptyTotals(shape);
  const cpuRecon = emptyReconstructionTotals(shape.dIn, shape.setTrials);
  const acc = new FeatureStatsGpu(gpu, shape);
  const batches = [[4, 0, 6], [1, 5, 2, 3]].map((ids) => {
    const b = ids.length;
    const z = activations(rng, b * shape.tokensPerTrial * shape.dSae);
    const x = Float32Array.from(
      { length: b * shape.tokensPerTrial * shape.dIn },
      () => rng.normal(),
    );
    const xHat = x.map((v) => v + 0.3 * rng.normal());
    return {
      trialIds: Int32Array.from(ids),
      labels: Int32Array.from(ids, (i) => i % 3),
      z,
      x,
      xHat,
    };
  });
  const tensors = batches.map((bt) => ({
    z: createTensor(gpu, [bt.z.length], "f32", "z", Float32Array.from(bt.z)),
    x: createTensor(gpu, [bt.x.length], "f32", "x", Float32Array.from(bt.x)),
    xHat: createTensor(gpu, [bt.xHat.length], "f32", "xhat", Float32Array.from(bt.xHat)),
  }));
  const run = new CommandBatch(gpu, "feature stats test");
  batches.forEach((bt, i) => {
    addBatch(cpu, bt);
    addReconstructionBatch(cpuRecon, bt.x, bt.xHat, bt.z, bt.trialIds, shape.tokensPerTrial);
    acc.accumulate(run, tensors[i].z, tensors[i].x, tensors[i].xHat, bt.trialIds, bt.labels);
  });
  await run.submit();
  const gather = new CommandBatch(gpu, "gather");
  batches.forEach((bt, i) => acc.gatherTop(gather, tensors[i].z, bt.trialIds));
  await gather.submit();
  const { features: g, reconstruction: r } = await acc.readTotals();
  const gathered = await acc.readGathered();
  acc.destroy();

  assert.equal(g.nTrials, 7);
  assert.deepEqual(Array.from(g.classTrials), Array.from(cpu.classTrials));
  closeArrays(g.actSum, cpu.actSum, 1e-5, "actSum");
  closeArrays(g.classActSum, cpu.classActSum, 1e-5, "classActSum");
  closeArrays(g.mapSum, cpu.mapSum, 1e-5, "mapSum");
  assert.deepEqual(Array.from(g.firedTokens), Array.from(cpu.firedTokens));
  assert.deepEqual(Array.from(g.firedTrials), Array.from(cpu.firedTrials));
  assert.deepEqual(Array.from(g.histogram), Array.from(cpu.histogram));
  assert.deepEqual(Array.from(g.topTrials), Array.from(cpu.topTrials));
  assert.deepEqual(Array.from(g.topTokens), Array.from(cpu.topTokens));
  closeArrays(g.topValues, cpu.topValues, 0, "topValues");
  closeArrays(r.sumX, cpuRecon.sumX, 1e-5, "sumX");
  closeArrays(r.perTrial, cpuRecon.perTrial, 1e-5, "perTrial");
  closeArrays(
    [r.sumSquaredError, r.sumSquaredNorm, r.sumCosine, r.sumL0, r.nTokens],
    [
      cpuRecon.sumSquaredError,
      cpuRecon.sumSquaredNorm,
      cpuRecon.sumCosine,
      cpuRecon.sumL0,
      cpuRecon.nTokens,
    ],
    1e-5,
    "reconstruction sums",
  );
  const want = new Float32Array(gathered.length);
  batches.forEach((bt) => gatherTopRef(cpu, bt.z, bt.trialIds, want));
  closeArrays(gathered, want, 0, "gathered");
  // The gather must have found something: every feature with a top trial has its max in there.
  for (let f = 0; f < shape.dSae; f++) {
    if (cpu.topTrials[f * shape.topK] < 0) continue;
    const row = gathered.subarray(f * shape.topK * 6, f * shape.topK * 6 + 6);
    assert.equal(Math.max(...row), cpu.topValues[f * shape.topK]);
  }
});

Deno.test("finalised statistics on a hand-made case", () => {
  // 2 classes, 2 channels × 1 patch, 2 features; 3 trials.
  const totals = emptyTotals({ dSae: 2, nClasses: 2, tokensPerTrial: 2, topK: 2 });
  const z = [
    // trial 0 (class 0): tokens [f0, f1]
    [[1, 0], [3, 0]],
    // trial 1 (class 1)
    [[0, 0], [2, 0]],
    // trial 2 (class 0)
    [[0, 0], [0, 0]],
  ];
  const labels = new Int32Array([0, 1, 0]);
  addBatch(totals, {
    z: Float32Array.from(z.flat(2)),
    labels,
    trialIds: new Int32Array([0, 1, 2]),
  });
  const s = finaliseFeatureStats(totals, 2, labels);
  assert.deepEqual(Array.from(s.meanActs), [1, 0]); // 6 / 6 tokens
  assert.deepEqual(Array.from(s.sparsity), [0.5, 0]); // 3 of 6 tokens
  assert.ok(Math.abs(s.trialSparsity[0] - 2 / 3) < 1e-7);
  // class 0: (1 + 3) over 4 tokens; class 1: 2 over 2 tokens
  assert.deepEqual(Array.from(s.perClassMeanActs), [1, 0, 1, 0]);
  assert.deepEqual(Array.from(s.topTrials.subarray(0, 2)), [0, 1]);
  assert.deepEqual(Array.from(s.topTokens.subarray(0, 2)), [1, 1]);
  assert.deepEqual(Array.from(s.topTrials.subarray(2, 4)), [-1, -1]);
  assert.equal(s.maxActs[0], 3);
  // channel 0 mean over 3 trials: 1/3; channel 1: 5/3
  assert.ok(Math.abs(s.channelPatchMeans[0] - 1 / 3) < 1e-7);
  assert.ok(Math.abs(s.channelPatchMeans[1] - 5 / 3) < 1e-7);
  assert.equal(s.labelEntropyTop[0], 1); // one class-0 and one class-1 top trial
  assert.equal(s.labelEntropyAll[0], 1); // equal per-class means
  assert.deepEqual(Array.from(s.alive), [1, 0]);
  assert.equal(s.histogram.slice(0, HISTOGRAM_BINS).reduce((a, b) => a + b, 0), 3);
  assert.ok(Math.abs(entropyBits([1, 1, 1, 1]) - 2) < 1e-12);
  assert.equal(entropyBits([0, 5, 0]), 0);
});

Deno.test("reconstruction summary: MSE, centred explained variance, cosine, L0", () => {
  const r = emptyReconstructionTotals(2, 1);
  // tokens x = (1, 0), (3, 0); x̂ = (1, 0), (2, 0); one active feature each.
  addReconstructionBatch(
    r,
    new Float32Array([1, 0, 3, 0]),
    new Float32Array([1, 0, 2, 0]),
    new Float32Array([1, 2]),
    new Int32Array([0]),
    2,
  );
  const s = summariseReconstruction(r);
  assert.equal(s.mse, 1 / 4);
  // centred total: (1 − 2)² + (3 − 2)² = 2 → EV = 1 − 1/2
  assert.equal(s.explainedVariance, 0.5);
  assert.equal(s.cosine, 1);
  assert.equal(s.l0, 1);
});
