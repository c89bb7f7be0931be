// Patch unfold: eeg [B, C, T] → patches [B·C·p, P], row r = (b·C + c)·p + i holding samples
// [i·step, i·step + P) of channel c (channel-major tokens; the incomplete tail is never read).

struct Params {
  count: u32, // elements of the output, B·C·p·P
  patches: u32, // p
  samples: u32, // T
  size: u32, // P
  step: u32, // P − overlap
}

@group(0) @binding(0) var<storage, read> eeg: array<f32>;
@group(0) @binding(1) var<storage, read_write> patches: array<f32>;
@group(0) @binding(2) var<uniform> params: Params;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn unfold(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = (wid.y * nwg.x + wid.x) * WG + lid;
  if (i >= params.count) {
    return;
  }
  let row = i / params.size;
  let j = i % params.size;
  let trace = row / params.patches;
  let index = row % params.patches;
  patches[i] = eeg[trace * params.samples + index * params.step + j];
}
