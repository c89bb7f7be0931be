// out[b] = epilogue(a[b] · op(B)), op(B) = B or Bᵀ; epilogue = (+ bias[n]) → activation → (+ residual).
//
// Each invocation owns a TM×TN register tile of the output and walks K alone: no workgroup memory
// and no barriers, which is what the software adapter (llvmpipe) runs fastest. The invocations of
// a workgroup own neighbouring column tiles of one row tile, so they share rows of `a`. Ragged
// edges: row/column offsets are clamped so loads stay inside the buffers; only stores are masked.
//
// The header (kernels/matmul.ts) supplies the consts TM, TN, WG, B_BATCHED, HAS_BIAS, ACT (0 none,
// 1 relu, 2 gelu, 3 geglu, using `gelu` from gelu_math.wgsl), HAS_RESIDUAL, and `fn
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
