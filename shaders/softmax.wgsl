// Numerically stable softmax over the last axis: one invocation per row (no barriers), three
// passes over the row: max, sum of exp(x - max), normalised write.

struct Params {
  rows: u32,
  d: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

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
  var mx = x[base];
  for (var i = 1u; i < d; i++) {
    mx = max(mx, x[base + i]);
  }
  var sum = 0.0;
  for (var i = 0u; i < d; i++) {
    sum += exp(x[base + i] - mx);
  }
  let inv = 1.0 / sum;
  for (var i = 0u; i < d; i++) {
    out[base + i] = exp(x[base + i] - mx) * inv;
  }
}
