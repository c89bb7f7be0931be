// Elementwise exact GELU, GEGLU (value = first half, gate = second half) and raw erf values (for the
// accuracy test). Needs gelu_math.wgsl in the header.

struct Params {
  count: u32, // elements of the output
  hidden: u32, // GEGLU: width H of the output rows (input rows are 2H)
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

fn index_of(wid: vec3<u32>, lid: u32, groups_x: u32) -> u32 {
  return (wid.y * groups_x + wid.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn gelu_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = index_of(wid, lid, nwg.x);
  if (i < params.count) {
    out[i] = gelu(x[i]);
  }
}

@compute @workgroup_size(WG)
fn geglu_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = index_of(wid, lid, nwg.x);
  if (i < params.count) {
    let h = params.hidden;
    let row = i / h;
    let col = i % h;
    let base = row * 2u * h;
    out[i] = x[base + col] * gelu(x[base + h + col]);
  }
}

@compute @workgroup_size(WG)
fn erf_main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = index_of(wid, lid, nwg.x);
  if (i < params.count) {
    out[i] = erf(x[i]);
  }
}
