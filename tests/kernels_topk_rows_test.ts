/**
 * Per-row top-k in place against its CPU reference: ties, zeros and negatives, k of 1, of the width
 * and above it, widths below, at and above a workgroup (256), many rows; values kept bit for bit.
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback, ShapeError } from "../compute/gpu/mod.ts";
import { topkRowsInPlace, topkRowsRef } from "../kernels/topk_rows.ts";
import { randomArray } from "./kernel_helpers.ts";

const CASES: { rows: number; width: number; k: number }[] = [
  { rows: 3, width: 7, k: 1 },
  { rows: 5, width: 40, k: 5 },
  { rows: 2, width: 40, k: 40 },
  { rows: 2, width: 10, k: 64 },
  { rows: 17, width: 300, k: 32 },
  { rows: 4, width: 1024, k: 100 },
  { rows: 600, width: 64, k: 8 },
];

for (const [index, c] of CASES.entries()) {
  Deno.test(`topk_rows [${c.rows}, ${c.width}] k ${c.k} matches the reference`, async () => {
    const gpu = await getGpu();
    // ReLU'd values with many exact zeros, a few negatives (treated as 0) and repeated values.
    const host = randomArray(c.rows * c.width, 500 + index, -0.5, 2).map((v, i) =>
      i % 13 === 0 ? 1.25 : i % 7 === 0 ? -0.25 : Math.max(v, 0)
    );
    const z = createTensor(gpu, [c.rows, c.width], "f32", "z", host);
    const batch = new CommandBatch(gpu, "topk rows test");
    topkRowsInPlace(batch, z, c.k);
    await batch.submit();
    const got = await readback(gpu, z);
    const want = topkRowsRef(host, c.width, c.k);
    assert.deepEqual([...got], [...want]);
    // At most k survivors per row unless ties at the k-th value keep more.
    for (let r = 0; r < c.rows; r++) {
      const kept = got.subarray(r * c.width, (r + 1) * c.width).filter((v) => v > 0);
      const kth = Math.min(...kept);
      const above = kept.filter((v) => v > kth).length;
      assert.ok(kept.length === 0 || above < c.k, `row ${r}: ${above} values above the k-th`);
    }
  });
}

Deno.test("topk_rows rejects a vector and k < 1 with ShapeError", async () => {
  const gpu = await getGpu();
  const batch = new CommandBatch(gpu, "topk rows errors");
  assert.throws(() => topkRowsInPlace(batch, createTensor(gpu, [8], "f32", "v"), 2), ShapeError);
  assert.throws(() => topkRowsInPlace(batch, createTensor(gpu, [2, 8], "f32", "z"), 0), ShapeError);
  assert.equal(batch.dispatchCount, 0);
});
