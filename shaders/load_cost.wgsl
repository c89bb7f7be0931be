// The cost of one vec4 load inside a loop, by where the value comes from (compute/bench/
// load_cost_section.ts). The header declares the source (binding 1: a storage buffer, a uniform
// buffer or a texture; or workgroup memory) and `fn load_at(k: u32, base: u32, lane: u32) ->
// vec4<f32>`, reading at one address for all lanes or one per lane, and ITERS (a multiple of 4).
// Four independent accumulators keep the FMAs off the critical path: the loads are what is timed.

@group(0) @binding(0) var<storage, read_write> sink: array<vec4<f32>>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let base = wid.x * 7u;
  let mul = vec4<f32>(0.999);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < ITERS; k += 4u) {
    acc0 = fma(acc0, mul, load_at(k, base, lid));
    acc1 = fma(acc1, mul, load_at(k + 1u, base, lid));
    acc2 = fma(acc2, mul, load_at(k + 2u, base, lid));
    acc3 = fma(acc3, mul, load_at(k + 3u, base, lid));
  }
  sink[wid.x * WG + lid] = (acc0 + acc1) + (acc2 + acc3);
}
