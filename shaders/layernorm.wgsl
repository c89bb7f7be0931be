// LayerNorm over the last axis (biased variance, as PyTorch): one invocation per row, two passes
// for the statistics (mean, then centred squares). The mean is summed relative to the row's first
// element, so a large common offset does not swamp the f32 running sum.

struct Params {
  rows: u32,
  d: u32,
  eps: f32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> params: Params;

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
  let shift = x[base];
  var sum = 0.0;
  for (var i = 1u; i < d; i++) {
    sum += x[base + i] - shift;
  }
  let mean = shift + sum / f32(d);
  var sq = 0.0;
  for (var i = 0u; i < d; i++) {
    let c = x[base + i] - mean;
    sq += c * c;
  }
  let inv = inverseSqrt(sq / f32(d) + params.eps);
  for (var i = 0u; i < d; i++) {
    out[base + i] = (x[base + i] - mean) * inv * weight[i] + bias[i];
  }
}
