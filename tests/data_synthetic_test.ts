/**
 * The synthetic generator: deterministic, BCIC2a-shaped, readable through the real LMDB reader,
 * and carrying its planted class structure (a plain band-power LDA finds it).
 */
import assert from "node:assert/strict";
import { bandpassInPlace } from "../compute/data/preprocess.ts";
import { LmdbSource } from "../compute/data/lmdb_source.ts";
import { Rng } from "../compute/data/rng.ts";
import {
  checkSyntheticOptions,
  groundTruth,
  sessionTrials,
  SYNTHETIC_DEFAULTS,
  type SyntheticOptions,
  syntheticSplits,
} from "../compute/data/synthetic.ts";
import { GROUND_TRUTH_FILE, writeSyntheticDataset } from "../compute/data/synthetic_dataset.ts";
import { loadTrialSet, type TrialSet, trialView } from "../compute/data/trials.ts";

const SMALL: SyntheticOptions = { ...SYNTHETIC_DEFAULTS, subjects: 3, trialsPerClass: 30 };

Deno.test("rng: deterministic, resumable from its state, uniform and normal moments", () => {
  const a = new Rng(42), b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => new Rng(43).next()));
  a.normal(); // leaves a spare deviate in the state
  const state = a.getState();
  const rest = [a.normal(), a.int(10), a.next()];
  const c = new Rng(0);
  c.setState(state);
  assert.deepEqual([c.normal(), c.int(10), c.next()], rest);
  let sum = 0, sq = 0;
  const n = 20000;
  for (let i = 0; i < n; i++) {
    const v = a.normal();
    sum += v;
    sq += v * v;
  }
  assert.ok(Math.abs(sum / n) < 0.03 && Math.abs(sq / n - 1) < 0.05);
  const perm = a.shuffle(Array.from({ length: 10 }, (_, i) => i));
  assert.deepEqual([...perm].sort((x, y) => x - y), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.throws(() => c.setState({ s: [0, 0, 0, 0], spare: null }), /all zeros/);
});

Deno.test("synthetic: deterministic per seed; fewer subjects give the same subjects' data", () => {
  const small = { ...SYNTHETIC_DEFAULTS, subjects: 2, trialsPerClass: 2 };
  const first = [...sessionTrials(small, 2, "E")];
  const again = [...sessionTrials({ ...small, subjects: 9 }, 2, "E")];
  assert.equal(first.length, 8);
  assert.deepEqual(first.map((t) => t.eeg), again.map((t) => t.eeg));
  const other = [...sessionTrials({ ...small, seed: 7 }, 2, "E")];
  assert.notDeepEqual(first[0].eeg, other[0].eeg);
  assert.deepEqual(first.map((t) => t.label).sort(), [0, 0, 1, 1, 2, 2, 3, 3]);
  assert.equal(first[0].eeg.length, 22 * 800);
  assert.match(first[0].key, /^A02E-0-\d$/);
  assert.ok(first[0].eeg.every(Number.isFinite));
});

Deno.test("synthetic: splits and ground truth describe the planted structure", () => {
  assert.deepEqual(syntheticSplits(9), { train: [1, 2, 3, 4, 5], val: [6, 7], test: [8, 9] });
  assert.deepEqual(syntheticSplits(3), { train: [1], val: [2], test: [3] });
  assert.deepEqual(syntheticSplits(2), { train: [1, 2], val: [], test: [] });
  assert.throws(
    () => checkSyntheticOptions({ ...SYNTHETIC_DEFAULTS, subjects: 100 }),
    /subjects must be an integer 1–99, got 100/,
  );
  assert.throws(
    () => checkSyntheticOptions({ ...SYNTHETIC_DEFAULTS, sfreq: 50 }),
    /sampling rate must be ≥ 100 Hz/,
  );
  const truth = groundTruth(SYNTHETIC_DEFAULTS);
  assert.equal(truth.subjects.length, 9);
  assert.deepEqual(truth.classes, ["left_hand", "right_hand", "feet", "tongue"]);
  const main = truth.class_effects.map((c) => `${c.effects[0].channel} ${c.effects[0].kind}`);
  assert.deepEqual(main, ["C4 ERD", "C3 ERD", "Cz ERD", "C3 ERS"]);
  // Subjects differ.
  assert.equal(new Set(truth.subjects.map((s) => s.mu_hz)).size, 9);
});

/** log variance of C3, C4, Cz after an 8–30 Hz band-pass. */
function bandPowerFeatures(set: TrialSet): number[][] {
  const rows = ["C3", "C4", "Cz"].map((c) => set.channels.indexOf(c));
  return Array.from({ length: set.n }, (_, i) => {
    const trial = trialView(set, i);
    return rows.map((r) => {
      const x = trial.slice(r * set.samples, (r + 1) * set.samples);
      bandpassInPlace(x, 1, set.samples, set.sfreq, [8, 30]);
      let s = 0;
      for (const v of x) s += v * v;
      return Math.log(s / x.length);
    });
  });
}

function solve(A: number[][], b: number[]): number[] {
  const n = b.length, M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    const p = M.slice(c).reduce(
      (best, r, k) => Math.abs(r[c]) > Math.abs(M[best][c]) ? c + k : best,
      c,
    );
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  return M.map((r, i) => r[n] / r[i]);
}

/** Linear discriminant analysis with a pooled covariance: train on (X, y), accuracy on (Xt, yt). */
function ldaAccuracy(X: number[][], y: number[], Xt: number[][], yt: number[]): number {
  const d = X[0].length, classes = [0, 1, 2, 3];
  const means = classes.map((k) => {
    const rows = X.filter((_, i) => y[i] === k);
    return Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  });
  const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  X.forEach((r, i) => {
    for (let a = 0; a < d; a++) {
      for (let b = 0; b < d; b++) {
        cov[a][b] += (r[a] - means[y[i]][a]) * (r[b] - means[y[i]][b]) / X.length;
      }
    }
  });
  const w = means.map((m) => solve(cov, m));
  const bias = means.map((m, k) => -0.5 * m.reduce((s, v, j) => s + v * w[k][j], 0));
  let correct = 0;
  Xt.forEach((r, i) => {
    const scores = classes.map((k) => bias[k] + r.reduce((s, v, j) => s + v * w[k][j], 0));
    if (scores.indexOf(Math.max(...scores)) === yt[i]) correct++;
  });
  return correct / Xt.length;
}

Deno.test("synthetic: through the real LMDB reader, a band-power LDA scores well above chance", async () => {
  const dir = `${await Deno.makeTempDir()}/synth`;
  const summary = await writeSyntheticDataset(dir, SMALL);
  assert.equal(summary.trials, 3 * 2 * 120);
  const truth = JSON.parse(await Deno.readTextFile(`${dir}/${GROUND_TRUTH_FILE}`));
  assert.equal(truth.options.subjects, 3);
  const source = await LmdbSource.open(dir);
  let set: TrialSet;
  try {
    assert.equal(source.sfreq, 200);
    assert.equal(source.splitSource, "__keys__");
    assert.deepEqual(
      [...new Set(source.trials.map((t) => `${t.subject}:${t.split}`))],
      ["1:train", "2:val", "3:test"],
    );
    set = await loadTrialSet(source);
  } finally {
    source.close();
  }
  // The reader returns exactly what the generator made.
  const direct = [...sessionTrials(SMALL, 2, "T")];
  const i = set.keys.indexOf(direct[5].key);
  assert.deepEqual(trialView(set, i), direct[5].eeg);
  assert.equal(set.labels[i], direct[5].label);

  // Within subject: train on session T, test on session E (chance is 25%).
  const features = bandPowerFeatures(set);
  const accuracies = [1, 2, 3].map((s) => {
    const pick = (session: string) =>
      [...set.keys.keys()].filter((k) => set.subjects[k] === s && set.sessions[k] === session);
    const tr = pick("T"), te = pick("E");
    return ldaAccuracy(
      tr.map((k) => features[k]),
      tr.map((k) => set.labels[k]),
      te.map((k) => features[k]),
      te.map((k) => set.labels[k]),
    );
  });
  const mean = accuracies.reduce((a, b) => a + b) / accuracies.length;
  console.log(
    `band-power LDA accuracy per subject ${accuracies.map((a) => a.toFixed(3))}, mean ${
      mean.toFixed(3)
    }`,
  );
  assert.ok(mean > 0.6, `mean accuracy ${mean}`);
  assert.ok(accuracies.every((a) => a > 0.4), `per subject ${accuracies}`);
});
