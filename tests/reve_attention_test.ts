/** The fused attention kernel against its float64 CPU reference: any N, odd head dims, large scores. */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback } from "../compute/gpu/mod.ts";
import { Rng } from "../compute/data/rng.ts";
import { attention, attentionRef, sliceColumns } from "../kernels/attention.ts";

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const CASES = [
  { B: 1, N: 1, H: 1, Dh: 4, gain: 1 },
  { B: 2, N: 5, H: 3, Dh: 7, gain: 1 },
  { B: 1, N: 70, H: 2, Dh: 16, gain: 1 },
  { B: 2, N: 130, H: 2, Dh: 8, gain: 1 },
  // Scores of several hundred: exp overflows without the running max.
  { B: 1, N: 40, H: 2, Dh: 8, gain: 12 },
];

for (const c of CASES) {
  Deno.test(`attention B${c.B} N${c.N} H${c.H} Dh${c.Dh} gain ${c.gain} matches the reference`, async () => {
    const gpu = await getGpu();
    const rng = new Rng(c.N * 31 + c.Dh);
    const inner = c.H * c.Dh;
    const qkvHost = new Float32Array(c.B * c.N * 3 * inner).map(() => rng.normal() * c.gain);
    const qkv = createTensor(gpu, [c.B, c.N, 3 * inner], "f32", "qkv", qkvHost);
    const out = createTensor(gpu, [c.B, c.N, inner], "f32", "out");
    const outNoPattern = createTensor(gpu, [c.B, c.N, inner], "f32", "out2");
    const pattern = createTensor(gpu, [c.B, c.H, c.N, c.N], "f32", "pattern");
    const k = createTensor(gpu, [c.B, c.N, c.H, c.Dh], "f32", "k");
    const batch = new CommandBatch(gpu, "attention test");
    attention(batch, qkv, out, { heads: c.H, headDim: c.Dh, pattern });
    attention(batch, qkv, outNoPattern, { heads: c.H, headDim: c.Dh });
    sliceColumns(batch, qkv, k, inner);
    await batch.submit();
    const ref = attentionRef(qkvHost, c.B, c.N, c.H, c.Dh);
    const got = await readback(gpu, out);
    assert.ok(
      maxAbsDiff(got, ref.out) < 1e-5 * c.gain,
      `out differs by ${maxAbsDiff(got, ref.out)}`,
    );
    assert.deepEqual(await readback(gpu, outNoPattern), got);
    const gotPattern = await readback(gpu, pattern);
    assert.ok(maxAbsDiff(gotPattern, ref.pattern) < 1e-5, `pattern differs`);
    const gotK = await readback(gpu, k);
    for (let t = 0; t < c.B * c.N; t++) {
      for (let e = 0; e < inner; e++) {
        assert.equal(gotK[t * inner + e], qkvHost[t * 3 * inner + inner + e]);
      }
    }
    for (const t of [qkv, out, outNoPattern, pattern, k]) t.buffer.destroy();
  });
}
