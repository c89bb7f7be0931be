// RMSNorm over the last axis: x · rsqrt(mean(x²) + eps) · weight (eps inside the root, as REVE).
// One invocation per row.

struct Params {
  rows: u32,
  d: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = (wid.y * nwg.x + wid.x) * 64u + lid;
  if (row >= params.rows) {
    return;
  }
  let d = params.d;
  let base = row * d;
  var sq = 0.0;
  for (var i = 0u; i < d; i++) {
    let v = x[base + i];
    sq += v * v;
  }
  let inv = inverseSqrt(sq / f32(d) + params.eps);
  for (var i = 0u; i < d; i++) {
    out[base + i] = x[base + i] * inv * weight[i];
  }
}
