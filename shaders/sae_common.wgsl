// Shared by the sae_encode/decode/backward shaders (prepended as a header, after the compile-time
// constants ARCH, AUX and TOKEN_NORM). Files that include it declare the bindings `log_thr`,
// `key_thr`, `since_fired` and `params` it reads. Each entry point binds only what it uses
// (WebGPU's default allows 8 storage buffers per stage), so functions here read few buffers.
//   ARCH: 0 relu, 1 topk, 2 batchtopk, 3 jumprelu.  AUX: 0 none, 1 ghost grads, 2 AuxK.

struct SaeParams {
  n_chunk: u32,      // tokens in this chunk
  d_in: u32,
  d_sae: u32,
  tok0: u32,         // global index of the chunk's first token in the step's batch
  n_batch: u32,      // tokens in the step
  dead_window: u32,  // a feature is dead after more steps than this without firing
  k: u32,            // TopK: active features per token; BatchTopK: k · n_batch
  k_aux: u32,        // AuxK: dead features used per token
  sparsity: f32,     // L1 (relu) or L0 (jumprelu) coefficient of this step
  mse_scale: f32,    // 1/(N·d_in) for token_norm, 1/N for none
  bandwidth: f32,    // JumpReLU straight-through kernel width
  aux_coef: f32,     // AuxK loss coefficient
  momentum: f32,     // BatchTopK running-threshold momentum
  radix_pass: u32,   // BatchTopK radix-select pass (0..3)
  _pad0: u32,
  _pad1: u32,
}

// Offset of the dead-feature list in the `scan` buffer.
const DEAD_LIST: u32 = 272u;

// exp() of ghost pre-activations is clamped here so one large value cannot overflow.
const EXP_CLAMP: f32 = 30.0;

// Order-preserving map of non-negative floats to u32 (negatives map to 0, "not selectable").
fn relu_key(v: f32) -> u32 {
  return select(0u, bitcast<u32>(v), v > 0.0);
}

// Order-preserving map of any finite float to a u32 that is never 0.
fn order_key(v: f32) -> u32 {
  let b = bitcast<u32>(v);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u) | 1u;
}

fn is_dead(f: u32) -> bool {
  return since_fired[f] > params.dead_window;
}

fn is_active(v: f32, t: u32, f: u32) -> bool {
  if (ARCH == 0u) {
    return v > 0.0;
  }
  if (ARCH == 3u) {
    return v > exp(log_thr[f]);
  }
  let key = relu_key(v);
  return key > 0u && key >= key_thr[t];
}

// The feature activation z of pre-activation v for global token t and feature f.
fn act(v: f32, t: u32, f: u32) -> f32 {
  return select(0.0, v, is_active(v, t, f));
}

// The auxiliary activation of a dead feature: exp(pre) for ghost grads, pre for AuxK's top k_aux.
fn aux_act(v: f32, t: u32, f: u32) -> f32 {
  if (AUX == 0u || !is_dead(f)) {
    return 0.0;
  }
  if (AUX == 1u) {
    return exp(min(v, EXP_CLAMP));
  }
  return select(0.0, v, is_auxk(v, t, f));
}

// Whether AuxK selects dead feature f for global token t (among the token's top k_aux dead keys).
fn is_auxk(v: f32, t: u32, f: u32) -> bool {
  return AUX == 2u && is_dead(f) && order_key(v) >= key_thr[params.n_batch + t];
}

// d aux_act / d pre (0 past the clamp, where the clamped exponential is flat).
fn aux_deriv(v: f32, t: u32, f: u32) -> f32 {
  if (AUX == 0u || !is_dead(f)) {
    return 0.0;
  }
  if (AUX == 1u) {
    return select(0.0, exp(v), v < EXP_CLAMP);
  }
  return select(0.0, 1.0, is_auxk(v, t, f));
}

// Kernels over (row, 4 consecutive d_in columns) cells with 64-invocation workgroups: the first
// column and the row of this invocation, or row 0xFFFFFFFF for a spare lane. When a row has fewer
// than 64 column groups, several rows share a workgroup so lanes are not left idle
// (kernels/sae_common.ts rowCellWorkgroups sizes the grid).
fn row_cell(gid_x: u32, wid_y: u32, lid: u32) -> vec2<u32> {
  let cpr = (params.d_in + 3u) / 4u;
  if (cpr >= 64u) {
    return vec2<u32>(gid_x * 4u, wid_y);
  }
  let r = 64u / cpr;
  if (lid >= r * cpr) {
    return vec2<u32>(0u, 0xFFFFFFFFu);
  }
  return vec2<u32>((lid % cpr) * 4u, wid_y * r + lid / cpr);
}
