/**
 * matmul against its float64 CPU reference: plain and transposed B, B in a texture, batched a and
 * b, every epilogue, ragged sizes (1, 3, 5, 88, 1361) on all four load variants and several
 * explicit tiles.
 * Tolerance: max |diff| ≤ 1e-5 · max(1, max |ref|).
 */
import assert from "node:assert/strict";
import {
  CommandBatch,
  createMatrixTexture,
  createTensor,
  getGpu,
  readback,
  ShapeError,
  type Tensor,
} from "../compute/gpu/mod.ts";
import {
  heuristicMatmulTile,
  matmul,
  type MatmulActivation,
  matmulRef,
  type MatmulTile,
  matmulVariant,
  matmulWithTile,
  SHARED_MATMUL_TILE,
  sharedTileApplies,
} from "../kernels/matmul.ts";
import {
  MATMUL_TILE_CANDIDATES,
  matmulTuneKey,
  setMatmulAutotune,
  tuneMatmul,
  tunePendingMatmuls,
} from "../kernels/matmul_tuner.ts";
import { assertClose, randomArray } from "./kernel_helpers.ts";

interface Case {
  m: number;
  n: number;
  k: number;
  transposeB: boolean;
  lead?: number[];
  bBatched?: boolean;
  bias?: boolean;
  activation?: MatmulActivation;
  residual?: boolean;
  tile?: MatmulTile;
  /** B ([N, K], transposeB) in a MatrixTexture. */
  textureB?: boolean;
}

const CASES: Case[] = [
  { m: 1, n: 1, k: 1, transposeB: false },
  { m: 1, n: 1, k: 1, transposeB: true },
  { m: 3, n: 5, k: 7, transposeB: true },
  { m: 5, n: 3, k: 1, transposeB: false },
  { m: 3, n: 88, k: 1361, transposeB: true, bias: true, activation: "gelu" },
  { m: 88, n: 13, k: 64, transposeB: true, bias: true, residual: true },
  { m: 9, n: 20, k: 12, transposeB: false, activation: "relu" },
  { m: 17, n: 22, k: 8, transposeB: false, bias: true, activation: "gelu", residual: true },
  { m: 6, n: 10, k: 5, transposeB: false, residual: true },
  { m: 4, n: 7, k: 16, transposeB: true, lead: [2, 3] },
  { m: 5, n: 8, k: 12, transposeB: false, lead: [3], bBatched: true, activation: "relu" },
  { m: 5, n: 6, k: 9, transposeB: true, lead: [2], bBatched: true, bias: true },
  { m: 13, n: 30, k: 20, transposeB: true, tile: { tm: 1, tn: 4, wg: 1 } },
  { m: 13, n: 30, k: 20, transposeB: false, tile: { tm: 3, tn: 8, wg: 5 } },
  { m: 13, n: 30, k: 21, transposeB: false, tile: { tm: 11, tn: 16, wg: 8 } },
  { m: 20, n: 41, k: 36, transposeB: true, residual: true, tile: { tm: 8, tn: 12, wg: 16 } },
  // Ragged rows, column tiles and workgroups of one row tile (heuristic and a large tile).
  { m: 30, n: 260, k: 20, transposeB: true, bias: true, residual: true },
  { m: 23, n: 300, k: 8, transposeB: false, tile: { tm: 22, tn: 32, wg: 8 } },
  // 75000 one-invocation workgroups: more than 65535, so the grid folds into y.
  { m: 300, n: 1000, k: 2, transposeB: false, tile: { tm: 1, tn: 4, wg: 1 } },
  // B in a texture: REVE's weights. Ragged rows and columns, epilogues, batched a, explicit tiles.
  { m: 3, n: 5, k: 8, transposeB: true, textureB: true },
  { m: 88, n: 13, k: 64, transposeB: true, textureB: true, bias: true, residual: true },
  { m: 30, n: 260, k: 20, transposeB: true, textureB: true, bias: true, activation: "gelu" },
  { m: 4, n: 7, k: 16, transposeB: true, textureB: true, lead: [2, 3], activation: "relu" },
  { m: 23, n: 300, k: 8, transposeB: true, textureB: true, tile: { tm: 22, tn: 32, wg: 8 } },
  { m: 13, n: 30, k: 20, transposeB: true, textureB: true, tile: { tm: 1, tn: 4, wg: 1 } },
  // GEGLU epilogue (N = 2H product columns → H outputs): REVE's MLP, ragged H, every load variant.
  { m: 88, n: 2 * 13, k: 64, transposeB: true, textureB: true, activation: "geglu" },
  { m: 30, n: 2 * 37, k: 20, transposeB: true, activation: "geglu", bias: true, residual: true },
  { m: 7, n: 2 * 5, k: 9, transposeB: true, activation: "geglu", bias: true },
  { m: 4, n: 2 * 9, k: 16, transposeB: true, lead: [2], textureB: true, activation: "geglu" },
  {
    m: 23,
    n: 2 * 30,
    k: 8,
    transposeB: true,
    textureB: true,
    activation: "geglu",
    residual: true,
    tile: { tm: 22, tn: 24, wg: 8 },
  },
  { m: 13, n: 2 * 6, k: 12, transposeB: true, activation: "geglu", tile: { tm: 3, tn: 8, wg: 2 } },
  // The hardware-GPU default tile (4 × 4 in workgroups of 64), run here on whatever adapter exists.
  { m: 70, n: 150, k: 36, transposeB: true, bias: true, tile: { tm: 4, tn: 4, wg: 64 } },
  { m: 70, n: 150, k: 36, transposeB: true, textureB: true, tile: { tm: 4, tn: 4, wg: 64 } },
  // The workgroup-memory tile (hardware GPUs' default), forced here: ragged 64×64 tiles and K tails
  // (K % 16 ≠ 0), Bᵀ and B, batched a and b, the full epilogue; and where it does not apply (geglu,
  // scalar K) its register-tile fallback.
  { m: 70, n: 150, k: 36, transposeB: true, bias: true, tile: SHARED_MATMUL_TILE },
  {
    m: 130,
    n: 68,
    k: 20,
    transposeB: false,
    bias: true,
    activation: "gelu",
    residual: true,
    tile: SHARED_MATMUL_TILE,
  },
  { m: 5, n: 12, k: 4, transposeB: true, lead: [3], bBatched: true, tile: SHARED_MATMUL_TILE },
  {
    m: 33,
    n: 40,
    k: 68,
    transposeB: false,
    lead: [2],
    bBatched: true,
    activation: "relu",
    tile: SHARED_MATMUL_TILE,
  },
  { m: 13, n: 2 * 20, k: 12, transposeB: true, activation: "geglu", tile: SHARED_MATMUL_TILE },
  { m: 13, n: 30, k: 21, transposeB: false, tile: SHARED_MATMUL_TILE },
  {
    m: 33,
    n: 2 * 20,
    k: 12,
    transposeB: true,
    activation: "geglu",
    tile: { tm: 4, tn: 8, wg: 64 },
  },
];

Deno.test("the default tile: tall register tiles on a software adapter, small ones on hardware", () => {
  const reve = { m: 88, n: 1536, k: 512, batch: 1, transposeB: true };
  // 88 rows = 4 × 22: no padded rows, texture or buffer B.
  assert.deepEqual(heuristicMatmulTile({ ...reve, textureB: true }), { tm: 22, tn: 16, wg: 8 });
  assert.deepEqual(heuristicMatmulTile(reve), { tm: 22, tn: 16, wg: 8 });
  // 4096 rows pad to 4114 with 22 (0.4%): still 22. 30 rows: 22 would pad to 44, 16 to 32.
  assert.deepEqual(heuristicMatmulTile({ ...reve, m: 4096 }), { tm: 22, tn: 16, wg: 8 });
  assert.deepEqual(heuristicMatmulTile({ ...reve, m: 30 }), { tm: 16, tn: 16, wg: 8 });
  assert.deepEqual(heuristicMatmulTile({ ...reve, m: 3, n: 7 }), { tm: 3, tn: 4, wg: 8 });
  // Columns narrow until the 8 invocations of a workgroup each get some: N = 64 → 8 columns each.
  assert.deepEqual(heuristicMatmulTile({ ...reve, m: 1024, n: 64 }), { tm: 22, tn: 8, wg: 8 });
  assert.deepEqual(heuristicMatmulTile({ ...reve, m: 1024, n: 96 }), { tm: 22, tn: 12, wg: 8 });
  // A hardware GPU gets the workgroup-memory tile.
  assert.deepEqual(heuristicMatmulTile(reve, false), SHARED_MATMUL_TILE);
  assert.ok(sharedTileApplies({ ...reve, m: 2 }, "gelu", 65535));
  // Not for scalar loads (K % 4 ≠ 0), textures or geglu: matmulWithTile uses register tiles there.
  assert.ok(!sharedTileApplies({ ...reve, k: 510 }, "none", 65535));
  assert.ok(!sharedTileApplies({ ...reve, textureB: true }, "none", 65535));
  assert.ok(!sharedTileApplies(reve, "geglu", 65535));
});

function describe(c: Case): string {
  const extras = [
    c.lead ? `lead [${c.lead}]` : "",
    c.bBatched ? "batched b" : "",
    c.bias ? "bias" : "",
    c.activation ?? "",
    c.residual ? "residual" : "",
    c.tile ? `tile ${c.tile.tm}x${c.tile.tn}/${c.tile.wg}${c.tile.shared ? " shared" : ""}` : "",
    c.textureB ? "texture b" : "",
  ].filter((s) => s !== "");
  return `${c.m}x${c.k}·${c.transposeB ? "Bᵀ" : "B"}→${c.n} ${extras.join(" ")}`.trim();
}

for (const [index, c] of CASES.entries()) {
  const variant = matmulVariant({ ...c, batch: 1 });
  Deno.test(`matmul ${describe(c)} (${variant}) matches the float64 reference`, async () => {
    const gpu = await getGpu();
    const lead = c.lead ?? [];
    const count = lead.reduce((p, d) => p * d, 1);
    const bShape = c.transposeB ? [c.n, c.k] : [c.k, c.n];
    const aHost = randomArray(count * c.m * c.k, 100 + index);
    const bHost = randomArray((c.bBatched ? count : 1) * c.n * c.k, 200 + index);
    const biasHost = randomArray(c.n, 300 + index);
    const resHost = randomArray(
      count * c.m * (c.activation === "geglu" ? c.n / 2 : c.n),
      400 + index,
    );
    const a = createTensor(gpu, [...lead, c.m, c.k], "f32", "a", aHost);
    const b = c.textureB
      ? createMatrixTexture(gpu, c.n, c.k, bHost, "b")
      : createTensor(gpu, c.bBatched ? [count, ...bShape] : bShape, "f32", "b", bHost);
    const outCols = c.activation === "geglu" ? c.n / 2 : c.n;
    const out = createTensor(gpu, [...lead, c.m, outCols], "f32", "out");
    const opts = {
      transposeB: c.transposeB,
      activation: c.activation,
      bias: c.bias ? createTensor(gpu, [c.n], "f32", "bias", biasHost) : undefined,
      residual: c.residual
        ? createTensor(gpu, [...lead, c.m, outCols], "f32", "residual", resHost)
        : undefined,
    };
    const batch = new CommandBatch(gpu, "matmul test");
    if (c.tile) matmulWithTile(batch, a, b, out, opts, c.tile);
    else matmul(batch, a, b, out, opts);
    await batch.submit();
    const ref = matmulRef(aHost, bHost, c.m, c.n, c.k, {
      transposeB: c.transposeB,
      activation: c.activation,
      bias: c.bias ? biasHost : undefined,
      residual: c.residual ? resHost : undefined,
      batch: count,
    });
    assertClose(await readback(gpu, out), ref, 1e-5, describe(c));
  });
}

Deno.test("matmul rejects mismatched shapes and aliasing with ShapeError", async () => {
  const gpu = await getGpu();
  const t = (shape: number[]): Tensor => createTensor(gpu, shape, "f32", "t");
  const a = t([4, 6]);
  const out = t([4, 5]);
  const batch = new CommandBatch(gpu, "matmul shape errors");
  assert.throws(() => matmul(batch, a, t([5, 6]), out), ShapeError); // [N,K] without transposeB
  assert.throws(() => matmul(batch, a, t([6, 5]), t([4, 6])), ShapeError);
  assert.throws(() => matmul(batch, a, t([6, 5]), out, { bias: t([4]) }), ShapeError);
  assert.throws(() => matmul(batch, a, t([6, 5]), out, { residual: out }), ShapeError);
  assert.throws(() => matmul(batch, a, t([6, 5]), a.reshape([4, 6])), ShapeError);
  assert.throws(() => matmul(batch, t([2, 4, 6]), t([3, 6, 5]), t([2, 4, 5])), ShapeError);
  assert.throws(() => matmul(batch, a, t([6, 5]), out, { residual: t([5, 4]) }), ShapeError);
  // A texture B holds [N, K] weights: transposeB is required and K must fill whole texels.
  const weights = createMatrixTexture(gpu, 5, 8, new Float32Array(40), "w");
  assert.throws(() => matmul(batch, t([4, 8]), weights, out), ShapeError);
  assert.throws(() => createMatrixTexture(gpu, 5, 6, new Float32Array(30), "w6"), ShapeError);
  assert.throws(() => createMatrixTexture(gpu, 5, 8, new Float32Array(39), "short"), ShapeError);
  // geglu: transposeB, an even N and out of N/2 columns; an explicit tile needs tn % 8 = 0.
  const geglu = { activation: "geglu" as const };
  assert.throws(() => matmul(batch, a, t([6, 10]), out, geglu), ShapeError);
  assert.throws(() => matmul(batch, a, t([9, 6]), t([4, 4]), { ...geglu, transposeB: true }));
  assert.throws(() => matmul(batch, a, t([10, 6]), t([4, 10]), { ...geglu, transposeB: true }));
  assert.throws(
    () =>
      matmulWithTile(batch, a, t([10, 6]), out, { ...geglu, transposeB: true }, {
        tm: 4,
        tn: 12,
        wg: 8,
      }),
    ShapeError,
  );
  assert.equal(batch.dispatchCount, 0);
  weights.destroy();
});

Deno.test("the autotuner picks a candidate, persists it, and matmul stays correct with it", async () => {
  const gpu = await getGpu();
  const dir = await Deno.makeTempDir();
  const cacheFile = `${dir}/tiles.json`;
  const m = 24, n = 40, k = 32;
  const aHost = randomArray(m * k, 1);
  const bHost = randomArray(n * k, 2);
  const a = createTensor(gpu, [m, k], "f32", "a", aHost);
  const b = createTensor(gpu, [n, k], "f32", "b", bHost);
  const out = createTensor(gpu, [m, n], "f32", "out");
  try {
    await setMatmulAutotune(true, { cacheFile });
    const first = new CommandBatch(gpu, "untuned");
    matmul(first, a, b, out, { transposeB: true }); // heuristic tile; the shape is noted
    await first.submit();
    await tunePendingMatmuls(gpu);
    const saved = JSON.parse(await Deno.readTextFile(cacheFile)) as Record<string, MatmulTile>;
    const key = matmulTuneKey(gpu, { m, n, k, batch: 1, transposeB: true });
    const choice = saved[key];
    assert.ok(choice, `cache file lacks ${key}: ${JSON.stringify(saved)}`);
    const allowed = [
      heuristicMatmulTile({ m, n, k, batch: 1, transposeB: true }, gpu.adapter.isFallbackAdapter),
      ...MATMUL_TILE_CANDIDATES,
    ];
    assert.ok(allowed.some((t) => t.tm === choice.tm && t.tn === choice.tn && t.wg === choice.wg));
    assert.deepEqual(await tuneMatmul(gpu, { m, n, k, batch: 1, transposeB: true }), choice);
    const second = new CommandBatch(gpu, "tuned");
    matmul(second, a, b, out, { transposeB: true });
    await second.submit();
    const ref = matmulRef(aHost, bHost, m, n, k, { transposeB: true });
    assertClose(await readback(gpu, out), ref, 1e-5, "tuned matmul");
  } finally {
    await setMatmulAutotune(false);
    await Deno.remove(dir, { recursive: true });
  }
});
