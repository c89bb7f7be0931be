/**
 * The analysis SAE (ReLU, JumpReLU and per-token TopK encode/decode on the GPU) and token pooling
 * against CPU references.
 */
import assert from "node:assert/strict";
import { CommandBatch, createTensor, getGpu, readback } from "../compute/gpu/mod.ts";
import { Rng } from "../compute/data/rng.ts";
import { join } from "node:path";
import {
  AnalysisSae,
  AnalysisSaeError,
  loadAnalysisSae,
} from "../compute/analysis/analysis_sae.ts";
import { writeSafetensors } from "../compute/io/safetensors.ts";
import { jumpReluRef } from "../kernels/jumprelu.ts";
import { poolTokens, poolTokensRef } from "../kernels/token_pool.ts";
import { assertEachClose } from "./kernel_helpers.ts";

/** float64 reference: z = act((x − b_dec)·W_enc + b_enc), x̂ = z·W_dec + b_dec. */
function reference(
  x: Float32Array,
  n: number,
  p: {
    dIn: number;
    dSae: number;
    wEnc: Float32Array;
    bEnc: Float32Array;
    wDec: Float32Array;
    bDec: Float32Array;
  },
  act: { threshold?: Float32Array; k?: number } = {},
) {
  const pre = new Float32Array(n * p.dSae);
  for (let t = 0; t < n; t++) {
    for (let f = 0; f < p.dSae; f++) {
      let s = p.bEnc[f];
      for (let d = 0; d < p.dIn; d++) s += (x[t * p.dIn + d] - p.bDec[d]) * p.wEnc[d * p.dSae + f];
      pre[t * p.dSae + f] = s;
    }
  }
  const z = act.threshold ? jumpReluRef(pre, act.threshold) : pre.map((v) => Math.max(0, v));
  if (act.k !== undefined) {
    // Each token keeps its k largest pre-activations that are positive.
    for (let t = 0; t < n; t++) {
      const row = pre.subarray(t * p.dSae, (t + 1) * p.dSae);
      const kth = Float64Array.from(row).sort()[p.dSae - act.k];
      for (let f = 0; f < p.dSae; f++) z[t * p.dSae + f] = row[f] > 0 && row[f] >= kth ? row[f] : 0;
    }
  }
  const xHat = new Float32Array(n * p.dIn);
  for (let t = 0; t < n; t++) {
    for (let d = 0; d < p.dIn; d++) {
      let s = p.bDec[d];
      for (let f = 0; f < p.dSae; f++) s += z[t * p.dSae + f] * p.wDec[f * p.dIn + d];
      xHat[t * p.dIn + d] = s;
    }
  }
  return { z, xHat };
}

Deno.test("analysis SAE: ReLU, JumpReLU and TopK encode/decode equal the float64 reference", async () => {
  const gpu = await getGpu();
  const rng = new Rng(21);
  const dIn = 12, dSae = 37, n = 9;
  const r = (len: number, s = 1) => Float32Array.from({ length: len }, () => s * rng.normal());
  const params = {
    dIn,
    dSae,
    wEnc: r(dIn * dSae, 0.3),
    bEnc: r(dSae, 0.1),
    wDec: r(dSae * dIn, 0.3),
    bDec: r(dIn, 0.2),
  };
  const x = r(n * dIn);
  const acts: { name: string; threshold?: Float32Array; k?: number }[] = [
    { name: "relu" },
    {
      name: "jumprelu",
      threshold: Float32Array.from({ length: dSae }, () => Math.abs(rng.normal()) * 0.5),
    },
    { name: "topk", k: 4 },
  ];
  for (const act of acts) {
    const sae = new AnalysisSae(gpu, { ...params, threshold: act.threshold, k: act.k });
    const xt = createTensor(gpu, [n, dIn], "f32", "x", Float32Array.from(x));
    const z = createTensor(gpu, [n, dSae], "f32", "z");
    const xHat = createTensor(gpu, [n, dIn], "f32", "xhat");
    const batch = new CommandBatch(gpu, "sae test");
    sae.encodeDecode(batch, xt, z, xHat);
    await batch.submit();
    const want = reference(x, n, params, act);
    const gotZ = await readback(gpu, z);
    assertEachClose(gotZ, want.z, 1e-4, `${act.name} z`);
    if (act.k !== undefined) {
      for (let t = 0; t < n; t++) {
        const fired = gotZ.subarray(t * dSae, (t + 1) * dSae).filter((v) => v > 0).length;
        assert.ok(fired <= act.k, `token ${t}: ${fired} features fire with k = ${act.k}`);
      }
    }
    assertEachClose(await readback(gpu, xHat), want.xHat, 1e-4, "x̂");
    const zeros = gotZ.filter((v) => v === 0).length;
    assert.ok(zeros > 0 && zeros < gotZ.length, "some features fire, some do not");
    sae.dispose();
  }
});

Deno.test("a TopK checkpoint loads for analysis with its k (SAELens kwargs too); no k is an error", async () => {
  const gpu = await getGpu();
  const dir = await Deno.makeTempDir();
  const [dIn, dSae] = [4, 6];
  await writeSafetensors(join(dir, "sae_weights.safetensors"), {
    // Distinct weights: no ties at a token's k-th value (ties would all stay).
    W_enc: {
      shape: [dIn, dSae],
      data: Float32Array.from({ length: dIn * dSae }, (_, i) => Math.sin(i + 1)),
    },
    b_enc: { shape: [dSae], data: new Float32Array(dSae) },
    W_dec: { shape: [dSae, dIn], data: new Float32Array(dSae * dIn).fill(0.5) },
    b_dec: { shape: [dIn], data: new Float32Array(dIn) },
  });
  const cfg = {
    d_in: dIn,
    d_sae: dSae,
    architecture: "topk",
    hook_name: "blocks.0.hook_resid_post",
  };
  try {
    await Deno.writeTextFile(
      join(dir, "cfg.json"),
      JSON.stringify({ ...cfg, activation_fn_kwargs: { k: 2 } }),
    );
    const { sae } = await loadAnalysisSae(dir, gpu);
    assert.equal(sae.params.k, 2);
    const x = createTensor(
      gpu,
      [3, dIn],
      "f32",
      "x",
      Float32Array.from({ length: 12 }, (_, i) => i),
    );
    const z = createTensor(gpu, [3, dSae], "f32", "z");
    const xHat = createTensor(gpu, [3, dIn], "f32", "xhat");
    const batch = new CommandBatch(gpu, "topk load");
    sae.encodeDecode(batch, x, z, xHat);
    await batch.submit();
    const got = await readback(gpu, z);
    for (let t = 0; t < 3; t++) {
      const fired = got.subarray(t * dSae, (t + 1) * dSae).filter((v) => v > 0).length;
      assert.ok(fired >= 1 && fired <= 2, `token ${t}: ${fired} features fire with k = 2`);
    }
    sae.dispose();
    await Deno.writeTextFile(join(dir, "cfg.json"), JSON.stringify(cfg));
    await assert.rejects(() => loadAnalysisSae(dir, gpu), AnalysisSaeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("decoder neighbours are the most cosine-similar other rows", async () => {
  const gpu = await getGpu();
  const wDec = new Float32Array([1, 0, /* f1 */ 0.9, 0.1, /* f2 */ 0, 1, /* f3 */ -1, 0]);
  const sae = new AnalysisSae(gpu, {
    dIn: 2,
    dSae: 4,
    wEnc: new Float32Array(8),
    bEnc: new Float32Array(4),
    wDec,
    bDec: new Float32Array(2),
  });
  const [n0] = sae.decoderNeighbours([0], 2);
  assert.deepEqual(n0.map((n) => n.id), [1, 2]);
  assert.ok(Math.abs(n0[0].cosine - 0.9 / Math.hypot(0.9, 0.1)) < 1e-6);
  sae.dispose();
});

Deno.test("token pooling: mean and max over each trial's tokens", async () => {
  const gpu = await getGpu();
  const rng = new Rng(2);
  const [b, t, w] = [3, 7, 70];
  const x = Float32Array.from({ length: b * t * w }, () => rng.normal());
  const xt = createTensor(gpu, [b, t, w], "f32", "x", x);
  const out = createTensor(gpu, [b, 2 * w], "f32", "out");
  const batch = new CommandBatch(gpu, "pool test");
  poolTokens(batch, xt, out, b, t);
  await batch.submit();
  const want = poolTokensRef(x, b, t);
  assertEachClose(await readback(gpu, out), want, 1e-5, "pooled");
  // Hand check of one entry: trial 1, column 5.
  let s = 0, m = -Infinity;
  for (let k = 0; k < t; k++) {
    s += x[(1 * t + k) * w + 5];
    m = Math.max(m, x[(1 * t + k) * w + 5]);
  }
  assert.ok(Math.abs(want[1 * 2 * w + 5] - s / t) < 1e-6 && want[1 * 2 * w + w + 5] === m);
});
