/**
 * Batched matmul with optional transposed B and a fused epilogue (+bias → activation → +residual),
 * and its float64 CPU reference. See shaders/matmul.wgsl for the register-tile scheme. B is a
 * tensor, or a MatrixTexture holding [N, K] weights (computing a·Bᵀ), which llvmpipe reads faster.
 */
import {
  type CommandBatch,
  type Gpu,
  MatrixTexture,
  ShapeError,
  type Tensor,
  uniformFields,
} from "../compute/gpu/mod.ts";
import { GELU_WGSL, geluRef } from "./gelu.ts";
import { grid1d } from "./grid.ts";

/**
 * The activation of the epilogue. `geglu` (REVE's MLP) pairs the product's columns: with N = 2H,
 * out[.., j] = y[j] · gelu(y[H + j]) for j < H, so `out` has H columns; it needs transposeB.
 */
export type MatmulActivation = "none" | "relu" | "gelu" | "geglu";

export interface MatmulOptions {
  /** B is [N, K] (PyTorch `[out, in]` weights, computing a·Bᵀ) instead of [K, N]. */
  transposeB?: boolean;
  /** [N] (the product's columns), added before the activation. */
  bias?: Tensor;
  activation?: MatmulActivation;
  /** Same shape as `out`, added after the activation; must not be `out` itself. */
  residual?: Tensor;
}

/**
 * A register-tile configuration: each invocation computes tm×tn outputs; wg invocations a group.
 * `shared`: matmul.wgsl's main_shared instead (64×64 tiles staged through workgroup memory by
 * 16×16 invocations of 4×4 outputs; tm, tn and wg are then 4, 4 and 256), for hardware GPUs.
 */
export interface MatmulTile {
  tm: number;
  tn: number;
  wg: number;
  shared?: boolean;
}

/** The workgroup-memory tile (matmul.wgsl main_shared). */
export const SHARED_MATMUL_TILE: MatmulTile = { tm: 4, tn: 4, wg: 256, shared: true };
const SHARED_OUTPUT_TILE = 64;

/**
 * Whether main_shared can run a problem: vec4 runs of A and B (k4, kn4), no geglu pairing, and a
 * grid of 64×64 tiles within the per-dimension limit.
 */
export function sharedTileApplies(
  shape: MatmulShape,
  activation: MatmulActivation,
  maxPerDimension: number,
): boolean {
  const variant = matmulVariant(shape);
  return (variant === "k4" || variant === "kn4") && activation !== "geglu" &&
    Math.ceil(shape.m / SHARED_OUTPUT_TILE) <= maxPerDimension &&
    Math.ceil(shape.n / SHARED_OUTPUT_TILE) <= maxPerDimension &&
    shape.batch <= maxPerDimension;
}

/** The problem a tile is chosen for. */
export interface MatmulShape {
  m: number;
  n: number;
  k: number;
  batch: number;
  transposeB: boolean;
  /** B is a MatrixTexture (then transposeB is true). */
  textureB?: boolean;
}

/** The B operand: a tensor ([K, N], [N, K] with transposeB, or batched), or [N, K] weights in a texture. */
export type MatmulB = Tensor | MatrixTexture;

/** Frees a B operand's GPU memory, whichever kind it is. */
export function destroyMatmulB(b: MatmulB): void {
  if (b instanceof MatrixTexture) b.destroy();
  else b.buffer.destroy();
}

/** Picks a tile for a shape, or undefined to fall back to the heuristic (installed by the tuner). */
export type MatmulTileChooser = (gpu: Gpu, shape: MatmulShape) => MatmulTile | undefined;

let tileChooser: MatmulTileChooser | undefined;

/** Installs (or removes) the tile chooser consulted before the heuristic. */
export function setMatmulTileChooser(chooser: MatmulTileChooser | undefined): void {
  tileChooser = chooser;
}

/**
 * The default tile. On a software adapter (llvmpipe), from interleaved timings (BENCHMARKS.md): 22
 * rows × 16 columns, each loaded value feeding 16–22 FMAs, which outweighs the spilled accumulators
 * (22 beat 16 and 11 rows at every REVE and SAE shape timed, texture or buffer B); fewer rows when
 * 22 would pad more than 5% of M (the fewest padded rows then); columns narrowed below N/8 so each
 * of a workgroup's 8 invocations (one llvmpipe SIMD row) has its own. A hardware GPU needs many
 * more invocations in flight and reuse through workgroup memory: there the shared-memory tile
 * (SHARED_MATMUL_TILE, where it applies; matmulWithTile falls back to 4 × 4 register tiles in
 * workgroups of 64 otherwise). Neither is timed on a hardware GPU yet; `deno task bench
 * --autotune` times the candidates on the adapter at hand.
 */
export function heuristicMatmulTile(shape: MatmulShape, softwareAdapter = true): MatmulTile {
  if (!softwareAdapter) return SHARED_MATMUL_TILE;
  // The widest column tile that still gives each of a workgroup's 8 invocations its own columns
  // (N = 64 runs 1.65× faster at 8 columns than at 16, where half the SIMD lanes would idle).
  const tn = [16, 12, 8].find((t) => Math.ceil(shape.n / t) >= 8) ?? 4;
  const padded = (tm: number) => Math.ceil(shape.m / tm) * tm;
  const rows = [22, 16, 12, 11, 8];
  const tm = shape.m <= 8 ? shape.m : rows.find((t) => padded(t) <= 1.05 * shape.m) ??
    rows.reduce((best, t) => (padded(t) < padded(best) ? t : best));
  return { tm, tn, wg: 8 };
}

const ACTIVATION_CODE: Record<MatmulActivation, number> = { none: 0, relu: 1, gelu: 2, geglu: 3 };

/** Records out = epilogue(a · op(b)). Validates shapes; allocates nothing but a uniform block. */
export function matmul(
  batch: CommandBatch,
  a: Tensor,
  b: MatmulB,
  out: Tensor,
  opts: MatmulOptions = {},
): void {
  const shape = checkMatmulShapes(a, b, out, opts);
  const tile = tileChooser?.(batch.gpu, shape) ??
    heuristicMatmulTile(shape, batch.gpu.adapter.isFallbackAdapter);
  // geglu splits a tile's columns into value and gate halves of whole vec4 groups.
  const tn = opts.activation === "geglu" ? Math.ceil(tile.tn / 8) * 8 : tile.tn;
  matmulWithTile(batch, a, b, out, opts, { ...tile, tn });
}

/** How the K loop reads memory: vec4 runs where the sizes allow, scalars otherwise. */
export type MatmulVariant = "tex" | "k4" | "kn4" | "scalar";

/** tex: B in a texture; k4: a·Bᵀ with K % 4 = 0; kn4: a·B with K and N % 4 = 0; scalar: any. */
export function matmulVariant(shape: MatmulShape): MatmulVariant {
  if (shape.textureB) return "tex";
  if (shape.k % 4 !== 0) return "scalar";
  if (shape.transposeB) return "k4";
  return shape.n % 4 === 0 ? "kn4" : "scalar";
}

/** matmul with an explicit tile (for the tuner and the benchmark). */
export function matmulWithTile(
  batch: CommandBatch,
  a: Tensor,
  b: MatmulB,
  out: Tensor,
  opts: MatmulOptions,
  requested: MatmulTile,
): void {
  const shape = checkMatmulShapes(a, b, out, opts);
  const { m, n, batch: count } = shape;
  if (m === 0 || n === 0 || count === 0) return;
  const maxPerDimension = batch.gpu.limits.maxComputeWorkgroupsPerDimension;
  // Where the shared-memory tile cannot run, small register tiles (what hardware GPUs prefer).
  const tile = requested.shared &&
      !sharedTileApplies(shape, opts.activation ?? "none", maxPerDimension)
    ? { tm: Math.min(m, 4), tn: opts.activation === "geglu" ? 8 : 4, wg: 64 }
    : requested;
  if (
    !Number.isInteger(tile.tm) || !Number.isInteger(tile.tn) || tile.tm < 1 || tile.tn < 4 ||
    tile.tn % 4 !== 0 || tile.wg < 1
  ) {
    throw new ShapeError(`matmul tile ${JSON.stringify(tile)}: need tm >= 1, tn a multiple of 4`);
  }
  const activation = opts.activation ?? "none";
  const geglu = activation === "geglu";
  if (geglu && tile.tn % 8 !== 0) {
    throw new ShapeError(`matmul tile ${JSON.stringify(tile)}: geglu needs tn a multiple of 8`);
  }
  // With geglu a tile's tn product columns are tn/2 value and tn/2 gate columns: tn/2 outputs.
  const tilesN = Math.ceil((geglu ? n / 2 : n) / (geglu ? tile.tn / 2 : tile.tn));
  const groupsN = Math.ceil(tilesN / tile.wg);
  const groups = Math.ceil(m / tile.tm) * groupsN;
  const variant = matmulVariant(shape);
  const header = [
    GELU_WGSL,
    `const TM: u32 = ${tile.tm}u;`,
    `const TN: u32 = ${tile.tn}u;`,
    `const WG: u32 = ${tile.wg}u;`,
    `const B_BATCHED: bool = ${b.shape.length === 3};`,
    `const HAS_BIAS: bool = ${opts.bias !== undefined};`,
    `const ACT: u32 = ${ACTIVATION_CODE[activation]}u;`,
    `const HAS_RESIDUAL: bool = ${opts.residual !== undefined};`,
    `const B_TRANSPOSED: bool = ${shape.transposeB};`,
    tileProductWgsl(tile, variant, shape.transposeB, geglu),
  ].join("\n");
  // The K loop reads A and B by the view its variant declares (matmul.wgsl); absent
  // bias/residual bind `a` (read-only, never read, as HAS_BIAS/HAS_RESIDUAL are false).
  const bName = variant === "tex" ? "bt" : variant === "scalar" ? "b" : "b4";
  batch.dispatch({
    shader: "matmul.wgsl",
    header,
    entryPoint: tile.shared ? "main_shared" : "main",
    bindings: {
      [variant === "scalar" ? "a" : "a4"]: a,
      [bName]: b instanceof MatrixTexture ? b.view : b,
      out,
      bias: opts.bias ?? a,
      residual: opts.residual ?? a,
      params: uniformFields({ m, n, k: shape.k, groups_n: groupsN }),
    },
    // Workgroups fold into x·y (beyond 65535 per dimension); z is the batch. main_shared: a grid of
    // 64×64 output tiles.
    workgroups: tile.shared
      ? [Math.ceil(n / SHARED_OUTPUT_TILE), Math.ceil(m / SHARED_OUTPUT_TILE), count]
      : [...grid1d(groups, 1, maxPerDimension), count],
    label:
      `matmul a[${a.shape}] b${b instanceof MatrixTexture ? " texture" : ""}[${b.shape}]${
        opts.transposeB ? "ᵀ" : ""
      } out[${out.shape}] ` +
      `${activation} ${variant} tile ${tile.tm}x${tile.tn}/${tile.wg}${
        tile.shared ? " shared" : ""
      }`,
  });
}

/**
 * `fn tile_product(row0, col0, batch)` for matmul.wgsl, written out for one tile shape: one variable
 * per accumulator and per loaded value (llvmpipe spills loop-indexed arrays to memory).
 */
function tileProductWgsl(
  tile: MatmulTile,
  variant: MatmulVariant,
  transposeB: boolean,
  geglu: boolean,
): string {
  const L: string[] = ["fn tile_product(row0: u32, col0: u32, batch: u32) {"];
  L.push("  let m = params.m;", "  let n = params.n;", "  let k = params.k;");
  const unit = variant === "scalar" ? "1u" : "4u";
  L.push(`  let kw = k / ${unit};`); // row stride of a (and of b when transposed) in load units
  L.push(`  var b_base = 0u;`, `  if (B_BATCHED) { b_base = batch * n * kw; }`);
  for (let i = 0; i < tile.tm; i++) {
    L.push(`  let ao${i} = (batch * m + min(row0 + ${i}u, m - 1u)) * kw;`);
  }
  L.push(
    ...(variant === "kn4"
      ? outerProductBody(tile)
      : dotProductBody(tile, variant, transposeB, geglu)),
  );
  L.push("}");
  return L.join("\n");
}

/** kn4 (a·B, B rows read as vec4 runs of 4 columns): vec4 accumulators, one FMA per a value. */
function outerProductBody({ tm, tn }: MatmulTile): string[] {
  const rows = [...Array(tm).keys()];
  const cols4 = [...Array(tn / 4).keys()];
  const L: string[] = [];
  for (const j of cols4) L.push(`  let bo${j} = b_base + min(col0 / 4u + ${j}u, n / 4u - 1u);`);
  for (const i of rows) for (const j of cols4) L.push(`  var c${i}_${j} = vec4<f32>(0.0);`);
  L.push("  let n4 = n / 4u;", "  for (var kk = 0u; kk < kw; kk++) {");
  for (const i of rows) L.push(`    let av${i} = a4[ao${i} + kk];`);
  for (const q of [0, 1, 2, 3]) {
    L.push(`    let r${q} = (4u * kk + ${q}u) * n4;`);
    for (const j of cols4) L.push(`    let bv${q}_${j} = b4[bo${j} + r${q}];`);
    const lane = "xyzw"[q];
    for (const i of rows) {
      for (const j of cols4) {
        L.push(`    c${i}_${j} = fma(vec4<f32>(av${i}.${lane}), bv${q}_${j}, c${i}_${j});`);
      }
    }
  }
  L.push("  }");
  for (const i of rows) {
    for (const j of cols4) {
      for (const e of [0, 1, 2, 3]) {
        L.push(
          `  store_output(batch, row0 + ${i}u, col0 + ${4 * j + e}u, c${i}_${j}.${"xyzw"[e]});`,
        );
      }
    }
  }
  return L;
}

/**
 * tex, k4 and scalar: one accumulator per output, a dot of vec4 runs along K (tex, k4) or an FMA
 * of scalars. With geglu, accumulators j < tn/2 are value columns oc0 + j and the rest the gate
 * columns H + oc0 + j', paired in `store_geglu`.
 */
function dotProductBody(
  { tm, tn }: MatmulTile,
  variant: MatmulVariant,
  transposeB: boolean,
  geglu: boolean,
): string[] {
  const rows = [...Array(tm).keys()];
  const cols = [...Array(tn).keys()];
  const vec = variant === "k4" || variant === "tex";
  const half = tn / 2;
  const L: string[] = [];
  if (geglu) L.push("  let h = n / 2u;", "  let oc0 = col0 / 2u;");
  for (const j of cols) {
    const col = !geglu
      ? `min(col0 + ${j}u, n - 1u)`
      : j < half
      ? `min(oc0 + ${j}u, h - 1u)`
      : `h + min(oc0 + ${j - half}u, h - 1u)`;
    // For a texture, the offset is the texel row; otherwise an element (or vec4) index.
    const offset = variant === "tex" ? col : `b_base + ${transposeB ? `(${col}) * kw` : col}`;
    L.push(`  let bo${j} = ${offset};`);
  }
  for (const i of rows) for (const j of cols) L.push(`  var c${i}_${j} = 0.0;`);
  L.push("  for (var kk = 0u; kk < kw; kk++) {");
  const bStep = transposeB ? "kk" : "kk * n";
  for (const j of cols) {
    L.push(
      variant === "tex"
        ? `    let bv${j} = textureLoad(bt, vec2<u32>(kk, bo${j}), 0);`
        : `    let bv${j} = ${vec ? "b4" : "b"}[bo${j} + ${bStep}];`,
    );
  }
  for (const i of rows) {
    L.push(`    let av${i} = ${vec ? "a4" : "a"}[ao${i} + kk];`);
    for (const j of cols) {
      L.push(
        vec
          ? `    c${i}_${j} += dot(av${i}, bv${j});`
          : `    c${i}_${j} = fma(av${i}, bv${j}, c${i}_${j});`,
      );
    }
  }
  L.push("  }");
  for (const i of rows) {
    if (geglu) {
      for (const j of cols.slice(0, half)) {
        L.push(`  store_geglu(batch, row0 + ${i}u, oc0 + ${j}u, c${i}_${j}, c${i}_${j + half});`);
      }
    } else {
      for (const j of cols) {
        L.push(`  store_output(batch, row0 + ${i}u, col0 + ${j}u, c${i}_${j});`);
      }
    }
  }
  return L;
}

/** Checks every shape and dtype; returns the problem size. */
export function checkMatmulShapes(
  a: Tensor,
  b: MatmulB,
  out: Tensor,
  opts: MatmulOptions,
): MatmulShape {
  const textureB = b instanceof MatrixTexture;
  const where = `matmul a[${a.shape}] b${textureB ? " texture" : ""}[${b.shape}] out[${out.shape}]`;
  if (textureB && opts.transposeB !== true) {
    throw new ShapeError(`${where}: a texture B holds [N, K] weights; pass transposeB: true`);
  }
  if (textureB && a.shape.at(-1)! % 4 !== 0) {
    throw new ShapeError(`${where}: with a texture B, K must be a multiple of 4`);
  }
  for (
    const [name, t] of [["a", a], ["b", textureB ? undefined : b], ["out", out], [
      "bias",
      opts.bias,
    ], ["residual", opts.residual]] as const
  ) {
    if (t && t.dtype !== "f32") {
      throw new ShapeError(`${where}: ${name} must be f32, got ${t.dtype}`);
    }
  }
  if (a.shape.length < 2) throw new ShapeError(`${where}: a must be [..., M, K]`);
  const lead = a.shape.slice(0, -2);
  const count = lead.reduce((p, d) => p * d, 1);
  const [m, k] = a.shape.slice(-2);
  const transposeB = opts.transposeB === true;
  if (b.shape.length !== 2 && b.shape.length !== 3) {
    throw new ShapeError(`${where}: b must be [K, N], [N, K] or batched [batch, ., .]`);
  }
  if (b.shape.length === 3 && b.shape[0] !== count) {
    throw new ShapeError(`${where}: batched b has ${b.shape[0]} matrices, a has ${count}`);
  }
  const [b0, b1] = b.shape.slice(-2);
  const bk = transposeB ? b1 : b0;
  const n = transposeB ? b0 : b1;
  if (bk !== k) {
    throw new ShapeError(
      `${where}: inner sizes differ (a has K=${k}, b${transposeB ? "ᵀ" : ""} has K=${bk})`,
    );
  }
  if (opts.activation === "geglu" && (!transposeB || n % 2 !== 0)) {
    throw new ShapeError(`${where}: geglu needs transposeB and an even N (value and gate halves)`);
  }
  const expected = [...lead, m, opts.activation === "geglu" ? n / 2 : n];
  if (out.shape.length !== expected.length || out.shape.some((d, i) => d !== expected[i])) {
    throw new ShapeError(`${where}: out must be [${expected}]`);
  }
  if (out.buffer === a.buffer || (!textureB && out.buffer === b.buffer)) {
    throw new ShapeError(`${where}: out may not alias an input`);
  }
  if (opts.bias && (opts.bias.shape.length !== 1 || opts.bias.shape[0] !== n)) {
    throw new ShapeError(`${where}: bias must be [${n}], got [${opts.bias.shape}]`);
  }
  const r = opts.residual;
  if (r) {
    if (r.shape.length !== expected.length || r.shape.some((d, i) => d !== expected[i])) {
      throw new ShapeError(`${where}: residual must be [${expected}], got [${r.shape}]`);
    }
    if (r.buffer === out.buffer) throw new ShapeError(`${where}: residual may not alias out`);
  }
  if (opts.bias?.buffer === out.buffer) throw new ShapeError(`${where}: bias may not alias out`);
  return { m, n, k, batch: count, transposeB, textureB };
}

export interface MatmulRefOptions {
  transposeB?: boolean;
  bias?: Float32Array;
  activation?: MatmulActivation;
  residual?: Float32Array;
  /** Number of matrices in a (and in b when b holds batch·K·N values). */
  batch?: number;
}

/** Plain CPU reference with float64 accumulation. */
export function matmulRef(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  opts: MatmulRefOptions = {},
): Float32Array {
  const act = opts.activation ?? "none";
  if (act === "geglu") {
    const y = matmulRef(a, b, m, n, k, { ...opts, activation: "none", residual: undefined });
    const h = n / 2;
    const out = new Float32Array(y.length / 2);
    for (let r = 0; r < out.length / h; r++) {
      for (let j = 0; j < h; j++) {
        const o = r * h + j;
        out[o] = y[r * n + j] * geluRef(y[r * n + h + j]) + (opts.residual?.[o] ?? 0);
      }
    }
    return out;
  }
  const count = opts.batch ?? 1;
  const bBatched = count > 1 && b.length === count * k * n;
  const out = new Float32Array(count * m * n);
  for (let p = 0; p < count; p++) {
    const ao = p * m * k;
    const bo = bBatched ? p * k * n : 0;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) {
          const bv = opts.transposeB ? b[bo + j * k + q] : b[bo + q * n + j];
          s += a[ao + i * k + q] * bv;
        }
        if (opts.bias) s += opts.bias[j];
        if (act === "relu") s = Math.max(s, 0);
        else if (act === "gelu") s = geluRef(s);
        const o = (p * m + i) * n + j;
        if (opts.residual) s += opts.residual[o];
        out[o] = s;
      }
    }
  }
  return out;
}
