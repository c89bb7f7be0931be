// JumpReLU in place over pre-activations z [n, d_sae]: z stays where it exceeds its feature's
// threshold and becomes 0 elsewhere (the inference form of JumpReLU and of BatchTopK).

struct Params {
  count: u32, // n · d_sae
  d_sae: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> threshold: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(256)
fn jumprelu(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= params.count) {
    return;
  }
  let v = z[i];
  if (!(v > threshold[i % params.d_sae])) {
    z[i] = 0.0;
  }
}
