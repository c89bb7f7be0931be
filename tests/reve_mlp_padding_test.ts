/**
 * The MLP weight padding the GPU model applies at upload (compute/reve/mlp_padding.ts): the padded
 * width, where each original value lands, zeros everywhere else, and the product identity that
 * keeps the model's outputs unchanged.
 */
import assert from "node:assert/strict";
import { REVE_BASE_CONFIG } from "../compute/reve/config.ts";
import { paddedMlpHidden, padMlpInWeight, padMlpOutWeight } from "../compute/reve/mlp_padding.ts";

const seq = (n: number) => Float32Array.from({ length: n }, (_, i) => i + 1);

Deno.test("reve-base's hidden width 1361 pads to 1364; multiples of 4 stay", () => {
  assert.equal(paddedMlpHidden(REVE_BASE_CONFIG), 1364);
  assert.equal(paddedMlpHidden({ ...REVE_BASE_CONFIG, embedDim: 16, mlpDimRatio: 1.5 }), 24);
  assert.equal(paddedMlpHidden({ ...REVE_BASE_CONFIG, embedDim: 8, mlpDimRatio: 1.25 }), 12);
});

Deno.test("padMlpInWeight keeps value and gate rows in place, zero rows after each part", () => {
  const hidden = 3, padded = 4, d = 2;
  const w = { shape: [2 * hidden, d], data: seq(2 * hidden * d) };
  const p = padMlpInWeight(w, hidden, padded, 2);
  assert.deepEqual(p.shape, [2 * padded, d]);
  assert.deepEqual([...p.data], [1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0]);
  const one = padMlpInWeight({ shape: [hidden, d], data: seq(hidden * d) }, hidden, padded, 1);
  assert.deepEqual([...one.data], [1, 2, 3, 4, 5, 6, 0, 0]);
  assert.throws(() => padMlpInWeight(w, hidden, padded, 1), RangeError);
});

Deno.test("padMlpOutWeight adds zero columns, and the padded product equals the original", () => {
  const hidden = 5, padded = 8, d = 3;
  const w = { shape: [d, hidden], data: seq(d * hidden) };
  const p = padMlpOutWeight(w, hidden, padded);
  assert.deepEqual(p.shape, [d, padded]);
  assert.deepEqual([...p.data.subarray(0, padded)], [1, 2, 3, 4, 5, 0, 0, 0]);
  // act [hidden] padded with zeros (what GELU/GEGLU give the padded units) times wᵀ.
  const act = [0.5, -1, 2, 0.25, 3];
  const actPadded = [...act, 0, 0, 0];
  for (let r = 0; r < d; r++) {
    let orig = 0, pad = 0;
    for (let c = 0; c < hidden; c++) orig += act[c] * w.data[r * hidden + c];
    for (let c = 0; c < padded; c++) pad += actPadded[c] * p.data[r * padded + c];
    assert.equal(pad, orig);
  }
  assert.throws(() => padMlpOutWeight({ shape: [d, 4], data: seq(d * 4) }, hidden, padded));
});
