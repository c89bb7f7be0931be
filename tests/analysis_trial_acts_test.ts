/**
 * The per-trial activation summary of the trial store on a hand-built z whose every entry is
 * known: 2 channels × 3 patches, 100 features; feature f < 80 fires once, on token f mod 6, with
 * activation f + 1; feature 90 fires on four tokens; feature 95 is negative (never active).
 */
import assert from "node:assert/strict";
import { summariseTrialActs, tailRanks, TrialActsScratch } from "../compute/analysis/trial_acts.ts";
import { validateTrialActsChunk } from "../schema/run_folder.ts";

const C = 2;
const P = 3;
const T = C * P;
const F = 100;

function handBuiltZ(): Float32Array {
  const z = new Float32Array(T * F);
  for (let f = 0; f < 80; f++) z[(f % 6) * F + f] = f + 1;
  [200, 100, 50, 0, 25, 0].forEach((v, t) => z[t * F + 90] = v);
  for (let t = 0; t < T; t++) z[t * F + 95] = -5;
  return z;
}

Deno.test("summariseTrialActs on an analytic z: top, tail, token maxima, channel tops, maps", () => {
  const acts = summariseTrialActs(7, handBuiltZ(), C, P, F);
  assert.equal(acts.trial, 7);
  assert.equal(acts.n_active, 81);
  // Rank 1 is feature 90 (sum 375); rank r ≥ 2 is feature 81 − r with sum 82 − r.
  assert.equal(acts.top.length, 64);
  assert.deepEqual(acts.top[0], [90, 375, 200, 4]);
  for (let r = 2; r <= 64; r++) assert.deepEqual(acts.top[r - 1], [81 - r, 82 - r, 82 - r, 1]);
  assert.deepEqual(acts.tail, Array.from({ length: 17 }, (_, i) => [65 + i, 82 - (65 + i)]));
  // Token t's strongest: feature 90 where it beats the largest f ≡ t (mod 6), f < 80.
  assert.deepEqual(acts.token_max, [[200, 100, 75], [76, 77, 78]]);
  assert.deepEqual(acts.token_argmax, [[90, 90, 74], [75, 76, 77]]);
  assert.deepEqual(acts.channel_top[0], [
    [90, 350],
    ...[79, 78, 74, 73, 72, 68, 67, 66, 62].map((f) => [f, f + 1]),
  ]);
  // Feature 90's 25 on channel 1 is below the tenth (60): not kept.
  assert.deepEqual(
    acts.channel_top[1],
    [77, 76, 75, 71, 70, 69, 65, 64, 63, 59].map((f) => [f, f + 1]),
  );
  assert.equal(acts.maps.length, 16);
  // round(v / 200 · 255): 127.5 → 128, 63.75 → 64, 31.875 → 32.
  assert.deepEqual(acts.maps[0], [255, 128, 64, 0, 32, 0]);
  // Feature 79 fires only on token 1, at its own max.
  assert.deepEqual(acts.maps[1], [0, 255, 0, 0, 0, 0]);
  validateTrialActsChunk(
    { chunk: 0, chunk_size: 8, trials: [{ ...acts, trial: 0 }] },
    { n_classes: 4, n_channels: C, n_patches: P },
    { chunk_size: 8, n_chunks: 1 },
    1,
  );
});

Deno.test("summariseTrialActs: a reused scratch gives the same summary; nothing active → −1 argmax", () => {
  const scratch = new TrialActsScratch(C, F);
  const z = handBuiltZ();
  const first = summariseTrialActs(0, z, C, P, F, scratch);
  const silent = summariseTrialActs(1, new Float32Array(T * F), C, P, F, scratch);
  assert.deepEqual(silent, {
    trial: 1,
    n_active: 0,
    top: [],
    tail: [],
    token_max: [[0, 0, 0], [0, 0, 0]],
    token_argmax: [[-1, -1, -1], [-1, -1, -1]],
    channel_top: [[], []],
    maps: [],
  });
  assert.deepEqual(summariseTrialActs(0, z, C, P, F, scratch), first);
});

Deno.test("tailRanks: every rank up to 48 of them, else 48 log-spaced ranks ending at the last", () => {
  assert.deepEqual(tailRanks(64), []);
  assert.deepEqual(tailRanks(65), [65]);
  assert.deepEqual(tailRanks(112), Array.from({ length: 48 }, (_, i) => 65 + i));
  const ranks = tailRanks(8192);
  assert.equal(ranks.length, 48);
  assert.equal(ranks[0], 65);
  assert.equal(ranks.at(-1), 8192);
  for (let i = 1; i < ranks.length; i++) {
    assert.ok(ranks[i] > ranks[i - 1]);
    // Log spacing: consecutive ratios stay near (8192 / 65)^(1/47) ≈ 1.108.
    assert.ok(Math.abs(ranks[i] / ranks[i - 1] - (8192 / 65) ** (1 / 47)) < 0.02, `${ranks}`);
  }
  // Just past 48: rounding may merge neighbours, never past the last rank.
  const near = tailRanks(113);
  assert.equal(near.at(-1), 113);
  assert.ok(near.length <= 48 && near.every((r, i) => i === 0 || r > near[i - 1]));
});
