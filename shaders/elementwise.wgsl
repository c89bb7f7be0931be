// Elementwise arithmetic on flat arrays: add (out = a + b), scale (out = s·x) and add_scaled
// (out = a + s·b). scale_main has one input, so it sees its output and parameters at bindings 1
// and 2 (variables that share a binding are allowed when no entry point uses both).

struct Params {
  count: u32,
  s: f32,
}

@group(0) @binding(0) var<storage, read> lhs: array<f32>;
@group(0) @binding(1) var<storage, read> rhs: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> params: Params;

@group(0) @binding(1) var<storage, read_write> scaled: array<f32>;
@group(0) @binding(2) var<uniform> scale_params: Params;

const WG: u32 = 256u;

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn add_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.count) {
    out[i] = lhs[i] + rhs[i];
  }
}

@compute @workgroup_size(WG)
fn add_scaled_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = flat_index(wid, nwg, lid);
  if (i < params.count) {
    out[i] = fma(params.s, rhs[i], lhs[i]);
  }
}

@compute @workgroup_size(WG)
fn scale_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = flat_index(wid, nwg, lid);
  if (i < scale_params.count) {
    scaled[i] = scale_params.s * lhs[i];
  }
}
