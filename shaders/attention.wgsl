// Fused multi-head self-attention over a fused QKV buffer, no mask.
//
// qkv is [B, N, 3·H·DH] with rows q | k | v and head h in columns [h·DH, (h+1)·DH) of each part;
// out is [B, N, H·DH]. One invocation owns one query row of one head: it streams the keys in tiles
// through workgroup memory with an online (running-max) softmax, so the N×N scores never reach
// global memory and any N works. When WRITE_PATTERN is true a second pass writes the normalised
// probabilities to pattern [B, H, N, N].
//
// The header supplies: const DH: u32 (head dim), const TK: u32 (keys per tile),
// const WG: u32 (queries per workgroup), const WRITE_PATTERN: bool.

struct Params {
  n: u32,
  heads: u32,
  scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> qkv: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> pattern: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> ktile: array<f32, TK * DH>;
var<workgroup> vtile: array<f32, TK * DH>;

@compute @workgroup_size(WG)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = params.n;
  let h = wid.y;
  let b = wid.z;
  let inner = params.heads * DH;
  let stride = 3u * inner;
  let base = b * n * stride + h * DH;
  let qi = wid.x * WG + lid;
  let valid = qi < n;

  var q: array<f32, DH>;
  var acc: array<f32, DH>;
  if (valid) {
    for (var d = 0u; d < DH; d++) {
      q[d] = qkv[base + qi * stride + d] * params.scale;
    }
  }
  // Running max and denominator; -3.4e38 stands in for -inf so the first rescale is exp(-huge) = 0.
  var m = -3.4e38;
  var l = 0.0;
  for (var k0 = 0u; k0 < n; k0 += TK) {
    for (var e = lid; e < TK * DH; e += WG) {
      let key = k0 + e / DH;
      if (key < n) {
        let at = base + key * stride + e % DH;
        ktile[e] = qkv[at + inner];
        vtile[e] = qkv[at + 2u * inner];
      }
    }
    workgroupBarrier();
    if (valid) {
      let count = min(TK, n - k0);
      for (var j = 0u; j < count; j++) {
        var s = 0.0;
        for (var d = 0u; d < DH; d++) {
          s += q[d] * ktile[j * DH + d];
        }
        if (s > m) {
          let c = exp(m - s);
          l *= c;
          for (var d = 0u; d < DH; d++) {
            acc[d] *= c;
          }
          m = s;
        }
        let pj = exp(s - m);
        l += pj;
        for (var d = 0u; d < DH; d++) {
          acc[d] += pj * vtile[j * DH + d];
        }
      }
    }
    workgroupBarrier();
  }
  if (!valid) {
    return;
  }
  let inv = 1.0 / l;
  let o = (b * n + qi) * inner + h * DH;
  for (var d = 0u; d < DH; d++) {
    out[o + d] = acc[d] * inv;
  }
  if (WRITE_PATTERN) {
    let row = ((b * params.heads + h) * n + qi) * n;
    for (var j = 0u; j < n; j++) {
      var s = 0.0;
      for (var d = 0u; d < DH; d++) {
        s += q[d] * qkv[base + j * stride + inner + d];
      }
      pattern[row + j] = exp(s - m) * inv;
    }
  }
}

// The same computation with the head dim in vec4 lanes (needs DH % 4 == 0): llvmpipe keeps the
// vec4 arrays' short loops in registers where the scalar arrays spill, several times faster.
const DH4: u32 = max(1u, DH / 4u);

@group(0) @binding(0) var<storage, read> qkv4: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out4: array<vec4<f32>>;

var<workgroup> ktile4: array<vec4<f32>, TK * DH4>;
var<workgroup> vtile4: array<vec4<f32>, TK * DH4>;

@compute @workgroup_size(WG)
fn main_vec4(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
  let n = params.n;
  let h = wid.y;
  let b = wid.z;
  let inner4 = params.heads * DH4;
  let stride4 = 3u * inner4;
  let base4 = b * n * stride4 + h * DH4;
  let qi = wid.x * WG + lid;
  let valid = qi < n;

  var q: array<vec4<f32>, DH4>;
  var acc: array<vec4<f32>, DH4>;
  if (valid) {
    for (var d = 0u; d < DH4; d++) {
      q[d] = qkv4[base4 + qi * stride4 + d] * params.scale;
    }
  }
  var m = -3.4e38;
  var l = 0.0;
  for (var k0 = 0u; k0 < n; k0 += TK) {
    for (var e = lid; e < TK * DH4; e += WG) {
      let key = k0 + e / DH4;
      if (key < n) {
        let at = base4 + key * stride4 + e % DH4;
        ktile4[e] = qkv4[at + inner4];
        vtile4[e] = qkv4[at + 2u * inner4];
      }
    }
    workgroupBarrier();
    if (valid) {
      let count = min(TK, n - k0);
      for (var j = 0u; j < count; j++) {
        var s4 = vec4<f32>(0.0);
        for (var d = 0u; d < DH4; d++) {
          s4 = fma(q[d], ktile4[j * DH4 + d], s4);
        }
        let s = s4.x + s4.y + s4.z + s4.w;
        let m_new = max(m, s);
        let c = exp(m - m_new);
        let pj = exp(s - m_new);
        l = l * c + pj;
        for (var d = 0u; d < DH4; d++) {
          acc[d] = fma(acc[d], vec4<f32>(c), pj * vtile4[j * DH4 + d]);
        }
        m = m_new;
      }
    }
    workgroupBarrier();
  }
  if (!valid) {
    return;
  }
  let inv = 1.0 / l;
  let o = (b * n + qi) * inner4 + h * DH4;
  for (var d = 0u; d < DH4; d++) {
    out4[o + d] = acc[d] * inv;
  }
  if (WRITE_PATTERN) {
    let row = ((b * params.heads + h) * n + qi) * n;
    for (var j = 0u; j < n; j++) {
      var s4 = vec4<f32>(0.0);
      for (var d = 0u; d < DH4; d++) {
        s4 = fma(q[d], qkv4[base4 + j * stride4 + inner4 + d], s4);
      }
      pattern[row + j] = exp(s4.x + s4.y + s4.z + s4.w - m) * inv;
    }
  }
}

// Copies columns [offset, offset + width) of a [rows, stride] matrix into a [rows, width] one:
// the q, k or v part of the fused QKV buffer for the hooks.
struct SliceParams {
  rows: u32,
  stride: u32,
  offset: u32,
  width: u32,
}

@group(0) @binding(0) var<storage, read> slice_src: array<f32>;
@group(0) @binding(1) var<storage, read_write> slice_dst: array<f32>;
@group(0) @binding(2) var<uniform> slice: SliceParams;

@compute @workgroup_size(256)
fn slice_columns(@builtin(global_invocation_id) gid: vec3<u32>,
                 @builtin(num_workgroups) groups: vec3<u32>) {
  let i = gid.x + gid.y * groups.x * 256u;
  if (i >= slice.rows * slice.width) {
    return;
  }
  let r = i / slice.width;
  let c = i % slice.width;
  slice_dst[i] = slice_src[r * slice.stride + slice.offset + c];
}
