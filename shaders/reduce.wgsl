// Reductions over the last axis (one invocation per row): sum, mean, max, argmax (first index of
// the maximum, as u32); and sum_rows, a reduction over the first axis of [rows, cols] (one
// invocation per column; neighbouring invocations read neighbouring columns), for bias gradients.

struct Params {
  rows: u32,
  d: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read_write> out_index: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 64u;

fn row_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * WG + lid;
}

fn row_sum(row: u32) -> f32 {
  let base = row * params.d;
  var s = 0.0;
  for (var i = 0u; i < params.d; i++) {
    s += x[base + i];
  }
  return s;
}

@compute @workgroup_size(WG)
fn sum_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = row_of(wid, nwg, lid);
  if (row < params.rows) {
    out[row] = row_sum(row);
  }
}

@compute @workgroup_size(WG)
fn mean_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = row_of(wid, nwg, lid);
  if (row < params.rows) {
    out[row] = row_sum(row) / f32(params.d);
  }
}

@compute @workgroup_size(WG)
fn max_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = row_of(wid, nwg, lid);
  if (row < params.rows) {
    let base = row * params.d;
    var mx = x[base];
    for (var i = 1u; i < params.d; i++) {
      mx = max(mx, x[base + i]);
    }
    out[row] = mx;
  }
}

@compute @workgroup_size(WG)
fn argmax_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = row_of(wid, nwg, lid);
  if (row < params.rows) {
    let base = row * params.d;
    var mx = x[base];
    var at = 0u;
    for (var i = 1u; i < params.d; i++) {
      let v = x[base + i];
      if (v > mx) {
        mx = v;
        at = i;
      }
    }
    out_index[row] = at;
  }
}

// params.rows × params.d input; one invocation per column c < d.
@compute @workgroup_size(WG)
fn sum_rows_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let col = row_of(wid, nwg, lid);
  if (col < params.d) {
    var s = 0.0;
    for (var r = 0u; r < params.rows; r++) {
      s += x[r * params.d + col];
    }
    out[col] = s;
  }
}
