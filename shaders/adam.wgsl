// Adam (PyTorch's bias-corrected form, fp32 moments, in place) with optional gradient clipping by
// the global norm: `sumsq_partial` writes per-workgroup Σg² for one tensor into clip[1 + offset..],
// `clip_scale` turns all partials into clip[0] = min(1, max_norm / ‖g‖), which `adam` applies.

struct AdamParams {
  n: u32,
  offset: u32,       // sumsq_partial: first partial slot of this tensor; clip_scale: partial count
  use_clip: u32,
  _pad: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  bias1: f32,        // 1 − β1^t
  bias2: f32,        // 1 − β2^t
  max_norm: f32,
  _pad2: f32,
}

@group(0) @binding(0) var<uniform> params: AdamParams;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read_write> clip: array<f32>;

@compute @workgroup_size(256)
fn adam(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.n) {
    return;
  }
  let s = select(1.0, clip[0], params.use_clip != 0u);
  let g = grad[i] * s;
  let mi = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let vi = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / sqrt(params.bias2) + params.eps;
  param[i] -= (params.lr / params.bias1) * mi / denom;
}

var<workgroup> red: array<f32, 256>;

fn reduce(lid: u32, x: f32) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  return red[0];
}

// Each workgroup sums 256·64 squared gradient entries.
@compute @workgroup_size(256)
fn sumsq_partial(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = wid.x * 256u * 64u;
  var s = 0.0;
  for (var j = 0u; j < 64u; j++) {
    let i = base + j * 256u + lid.x;
    if (i < params.n) {
      s += grad[i] * grad[i];
    }
  }
  let total = reduce(lid.x, s);
  if (lid.x == 0u) {
    clip[1u + params.offset + wid.x] = total;
  }
}

@compute @workgroup_size(256)
fn clip_scale(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < params.offset; i += 256u) {
    s += clip[1u + i];
  }
  let total = reduce(lid.x, s);
  if (lid.x == 0u) {
    clip[0] = min(1.0, params.max_norm / (sqrt(total) + 1e-6));
  }
}
