// out[b] = epilogue(a[b] · op(B)), op(B) = B or Bᵀ; epilogue = (+ bias[n]) → activation → (+ residual).
//
// Each invocation owns a TM×TN register tile of the output and walks K alone: no workgroup memory
// and no barriers, which is what the software adapter (llvmpipe) runs fastest. The invocations of
// a workgroup own neighbouring column tiles of one row tile, so they share rows of `a`. Ragged
// edges: row/column offsets are clamped so loads stay inside the buffers; only stores are masked.
//
// The header (kernels/matmul.ts) supplies the consts TM, TN, WG, B_BATCHED, HAS_BIAS, ACT (0 none,
// 1 relu, 2 gelu, 3 geglu, using `gelu` from gelu_math.wgsl), HAS_RESIDUAL, B_TRANSPOSED, and `fn
// tile_product(row0, col0, batch)`: the K loop written out for this tile shape with one variable per accumulator, because
// llvmpipe keeps such variables in registers but spills loop-indexed arrays to memory. It reads `a`
// and `b` as scalars, or `a4`/`b4` as vec4 runs when the sizes are multiples of 4, or B's texels
// from `bt` (an [N, K] matrix in an rgba32float texture, kernels/matmul.ts), and ends by calling
// `store_output` for each accumulator (`store_geglu` for each value/gate pair with geglu, where
// the output has n/2 columns).

struct Params {
  m: u32,
  n: u32,
  k: u32,
  // Workgroups per row tile: ceil(tiles_n / WG), tiles_n = ceil(n / TN).
  groups_n: u32,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read> residual: array<f32>;
@group(0) @binding(5) var<uniform> params: Params;

// The same buffers seen as vec4 runs; an entry point uses either these or the scalar views.
@group(0) @binding(0) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> b4: array<vec4<f32>>;
// Or B as a texture: texel (x, y) holds B[y, 4x..4x+3].
@group(0) @binding(1) var bt: texture_2d<f32>;

fn activate(v: f32) -> f32 {
  if (ACT == 1u) {
    return max(v, 0.0);
  }
  if (ACT == 2u) {
    return gelu(v);
  }
  return v;
}

fn store_output(batch: u32, row: u32, col: u32, acc: f32) {
  let m = params.m;
  let n = params.n;
  if (row < m && col < n) {
    var v = acc;
    if (HAS_BIAS) {
      v += bias[col];
    }
    v = activate(v);
    let o = (batch * m + row) * n + col;
    if (HAS_RESIDUAL) {
      v += residual[o];
    }
    out[o] = v;
  }
}

// GEGLU: out[row, col] = (value + bias[col]) · gelu(gate + bias[n/2 + col]) (+ residual).
fn store_geglu(batch: u32, row: u32, col: u32, value: f32, gate: f32) {
  let m = params.m;
  let h = params.n / 2u;
  if (row < m && col < h) {
    var v = value;
    var g = gate;
    if (HAS_BIAS) {
      v += bias[col];
      g += bias[h + col];
    }
    let o = (batch * m + row) * h + col;
    var r = v * gelu(g);
    if (HAS_RESIDUAL) {
      r += residual[o];
    }
    out[o] = r;
  }
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  // One workgroup = one row tile × WG column tiles: the rows of `a` come from the workgroup id alone,
  // so all its invocations read the same `a` addresses (a compiler may load them once). Tiles past
  // the edge (and groups past the end when the grid folds) only clamp their loads and mask stores.
  let g = wid.y * nwg.x + wid.x;
  tile_product((g / params.groups_n) * TM, ((g % params.groups_n) * WG + lid) * TN, wid.z);
}

// For hardware GPUs (kernels/matmul.ts picks it on a non-fallback adapter): a 64×64 output tile per
// workgroup of 16×16 invocations, each owning 4×4 outputs, with A and B staged through workgroup
// memory 16 values of K at a time as vec4 runs (needs K % 4 = 0, and N % 4 = 0 unless B is
// transposed; a4/b4 views). Every value loaded from memory then feeds 64 FMAs. Loads past the edge
// are clamped (rows, columns) or zero (K); stores are masked by store_output.
const SH_TILE: u32 = 64u;
const SH_K: u32 = 16u;
const SH_K4: u32 = SH_K / 4u;
// sh_a[r · SH_K4 + q] = A[row0 + r, k0 + 4q ..]; sh_b = B[col0 + c, k0 + 4q ..] at c · SH_K4 + q
// when transposed, else B[k0 + kr, col0 + 4c4 ..] at kr · 16 + c4.
var<workgroup> sh_a: array<vec4<f32>, SH_TILE * SH_K4>;
var<workgroup> sh_b: array<vec4<f32>, SH_TILE * SH_K4>;

@compute @workgroup_size(16, 16)
fn main_shared(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let m = params.m;
  let n = params.n;
  let kw = params.k / 4u;
  let batch = wid.z;
  let row0 = wid.y * SH_TILE;
  let col0 = wid.x * SH_TILE;
  var b_base = 0u;
  if (B_BATCHED) {
    b_base = batch * n * kw;
  }
  // This invocation's share of each tile load: one vec4 of A and one of B.
  let ar = li / SH_K4;
  let aq = li % SH_K4;
  let a_row = (batch * m + min(row0 + ar, m - 1u)) * kw;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < kw; k0 += SH_K4) {
    let ka = k0 + aq;
    sh_a[li] = select(vec4<f32>(0.0), a4[a_row + min(ka, kw - 1u)], ka < kw);
    if (B_TRANSPOSED) {
      sh_b[li] = select(vec4<f32>(0.0), b4[b_base + min(col0 + ar, n - 1u) * kw + min(ka, kw - 1u)], ka < kw);
    } else {
      let kr = li / 16u;
      let c4 = li % 16u;
      let k = k0 * 4u + kr;
      let n4 = n / 4u;
      sh_b[li] = select(vec4<f32>(0.0), b4[b_base + min(k, params.k - 1u) * n4 + min(col0 / 4u + c4, n4 - 1u)],
        k < params.k);
    }
    workgroupBarrier();
    for (var q = 0u; q < SH_K4; q++) {
      for (var i = 0u; i < 4u; i++) {
        let av = sh_a[(lid.y * 4u + i) * SH_K4 + q];
        if (B_TRANSPOSED) {
          for (var j = 0u; j < 4u; j++) {
            acc[i][j] += dot(av, sh_b[(lid.x * 4u + j) * SH_K4 + q]);
          }
        } else {
          for (var kk = 0u; kk < 4u; kk++) {
            acc[i] += av[kk] * sh_b[(q * 4u + kk) * 16u + lid.x];
          }
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      store_output(batch, row0 + lid.y * 4u + i, col0 + lid.x * 4u + j, acc[i][j]);
    }
  }
}
