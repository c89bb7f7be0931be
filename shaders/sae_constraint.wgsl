// Unit-norm decoder rows and feature bookkeeping: the decoder gradient's component along its own
// row is removed between backward and the optimiser step (so Adam never pushes rows off the
// sphere), rows are renormalised after the step, and per-feature firing counters are updated.

struct ConstraintParams {
  d_in: u32,
  d_sae: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<uniform> params: ConstraintParams;
@group(0) @binding(1) var<storage, read_write> w_dec: array<f32>;       // [d_sae, d_in]
@group(0) @binding(2) var<storage, read_write> g_w_dec: array<f32>;     // [d_sae, d_in]
@group(0) @binding(3) var<storage, read_write> fired: array<u32>;       // [d_sae] this step
@group(0) @binding(4) var<storage, read_write> since_fired: array<u32>; // [d_sae]
@group(0) @binding(5) var<storage, read_write> act_count: array<f32>;   // [d_sae] window total

var<workgroup> red: array<f32, 64>;

fn reduce(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

// g_f ← g_f − (g_f·w_f) w_f / ‖w_f‖²: one workgroup per decoder row.
@compute @workgroup_size(64)
fn project_decoder_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let f = wid.x;
  let n = params.d_in;
  var gw = 0.0;
  var ww = 0.0;
  for (var d = lid.x; d < n; d += 64u) {
    gw += g_w_dec[f * n + d] * w_dec[f * n + d];
    ww += w_dec[f * n + d] * w_dec[f * n + d];
  }
  let dot = reduce(lid.x, gw);
  let norm2 = reduce(lid.x, ww);
  let c = dot / max(norm2, 1e-30);
  for (var d = lid.x; d < n; d += 64u) {
    g_w_dec[f * n + d] -= c * w_dec[f * n + d];
  }
}

@compute @workgroup_size(64)
fn renorm_decoder(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let f = wid.x;
  let n = params.d_in;
  var ww = 0.0;
  for (var d = lid.x; d < n; d += 64u) {
    ww += w_dec[f * n + d] * w_dec[f * n + d];
  }
  let inv = 1.0 / max(sqrt(reduce(lid.x, ww)), 1e-12);
  for (var d = lid.x; d < n; d += 64u) {
    w_dec[f * n + d] *= inv;
  }
}

@compute @workgroup_size(64)
fn update_counters(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  if (f >= params.d_sae) {
    return;
  }
  since_fired[f] = select(since_fired[f] + 1u, 0u, fired[f] > 0u);
  act_count[f] += f32(fired[f]);
}
