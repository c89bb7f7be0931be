// Per-trial pooling over tokens: x [B, T, W] → out [B, 2W] with the mean over the T tokens in
// columns 0..W−1 and the max in columns W..2W−1. One invocation per (trial, column).

struct Params {
  n_trials: u32, // B
  tokens: u32,   // T
  width: u32,    // W
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn pool(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * 64u + lid;
  let w = params.width;
  if (i >= params.n_trials * w) {
    return;
  }
  let b = i / w;
  let j = i % w;
  var s = 0.0;
  var m = x[b * params.tokens * w + j];
  for (var t = 0u; t < params.tokens; t++) {
    let v = x[(b * params.tokens + t) * w + j];
    s += v;
    m = max(m, v);
  }
  out[b * 2u * w + j] = s / f32(params.tokens);
  out[b * 2u * w + w + j] = m;
}
