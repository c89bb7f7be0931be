// The glue of the SAE's dense path (kernels/sae_dense.ts), where the heavy products of a chunk run
// through the tuned matmul: staging x − b_dec and dL/dx̂ row- and column-major, the activation z,
// the masked dL/dpre (in place over de·W_decᵀ), the transposed W_dec gradient plus the dead
// features' auxiliary term, and the per-feature sums. Chunk-local token t, global token tok0 + t.
// With GHOST_DENSE the ghost-gradient terms of dead features come from matmuls too (the ghost
// activations `ghost`, dg·W_decᵀ in `dgz`, dgᵀ·ghost in `g_aux_t`) instead of per-entry loops.
// Prepended: ARCH/AUX/TOKEN_NORM/GHOST_DENSE constants and sae_common.wgsl.

@group(0) @binding(0) var<uniform> params: SaeParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [n_batch, d_in]
@group(0) @binding(2) var<storage, read> pre: array<f32>;          // [n_chunk, d_sae]
@group(0) @binding(3) var<storage, read> w_dec: array<f32>;        // [d_sae, d_in]
@group(0) @binding(4) var<storage, read> b_dec: array<f32>;        // [d_in]
@group(0) @binding(5) var<storage, read> log_thr: array<f32>;      // [d_sae]
@group(0) @binding(6) var<storage, read> key_thr: array<u32>; // [2, n_batch] TopK, then AuxK key thresholds
@group(0) @binding(7) var<storage, read> since_fired: array<u32>;  // [d_sae]
@group(0) @binding(8) var<storage, read> de: array<f32>;           // [n_batch, d_in] dL/dx̂
@group(0) @binding(9) var<storage, read> dg: array<f32>;          // [n_batch, d_in] dL/d aux_out
@group(0) @binding(10) var<storage, read_write> rows: array<f32>;  // [n_chunk, d_in] staged rows
@group(0) @binding(11) var<storage, read_write> cols: array<f32>;  // [d_in, n_chunk] the same, transposed
@group(0) @binding(12) var<storage, read_write> z: array<f32>;     // [n_chunk, d_sae]
@group(0) @binding(13) var<storage, read_write> dpre: array<f32>;  // [n_chunk, d_sae]
@group(0) @binding(14) var<storage, read> g_t: array<f32>;         // [d_in, d_sae] zᵀ·de, transposed
@group(0) @binding(15) var<storage, read_write> g_w_dec: array<f32>; // [d_sae, d_in]
@group(0) @binding(16) var<storage, read_write> g_b_enc: array<f32>; // [d_sae]
@group(0) @binding(17) var<storage, read_write> fired: array<u32>; // [d_sae] tokens firing this step
@group(0) @binding(18) var<storage, read_write> ghost: array<f32>; // [n_chunk, d_sae] aux activations
@group(0) @binding(19) var<storage, read> dgz: array<f32>;         // [n_chunk, d_sae] dg·W_decᵀ
@group(0) @binding(20) var<storage, read> g_aux_t: array<f32>;     // [d_in, d_sae] dgᵀ·ghost

fn first_chunk() -> bool {
  return params.tok0 == 0u;
}

const SRC_X: u32 = 0u;
const SRC_DE: u32 = 1u;
const SRC_DG: u32 = 2u;

fn stage(src: u32, gid: vec3<u32>, wid: vec3<u32>) {
  let d = gid.x;
  let t = wid.y;
  let n = params.d_in;
  if (d >= n) {
    return;
  }
  let i = (params.tok0 + t) * n + d;
  var v = 0.0;
  if (src == SRC_X) {
    v = x[i] - b_dec[d];
  } else if (src == SRC_DE) {
    v = de[i];
  } else {
    v = dg[i];
  }
  rows[t * n + d] = v;
  cols[d * params.n_chunk + t] = v;
}

// rows/cols = (x − b_dec) of the chunk.
@compute @workgroup_size(64)
fn stage_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  stage(SRC_X, gid, wid);
}

// rows/cols = dL/dx̂ of the chunk.
@compute @workgroup_size(64)
fn stage_de(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  stage(SRC_DE, gid, wid);
}

// rows/cols = dL/d aux_out of the chunk.
@compute @workgroup_size(64)
fn stage_dg(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  stage(SRC_DG, gid, wid);
}

// z = act(pre).
@compute @workgroup_size(64)
fn activate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let f = gid.x;
  let t = wid.y;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  let i = t * m + f;
  z[i] = act(pre[i], params.tok0 + t, f);
  if (GHOST_DENSE) {
    ghost[i] = aux_act(pre[i], params.tok0 + t, f);
  }
}

// dg[tg]·W_dec[f], four elements per trip.
fn dg_dot(tg: u32, f: u32) -> f32 {
  let n = params.d_in;
  let a = tg * n;
  let b = f * n;
  var s = vec4<f32>(0.0);
  var d = 0u;
  for (; d + 4u <= n; d += 4u) {
    s += vec4<f32>(dg[a + d], dg[a + d + 1u], dg[a + d + 2u], dg[a + d + 3u]) *
      vec4<f32>(w_dec[b + d], w_dec[b + d + 1u], w_dec[b + d + 2u], w_dec[b + d + 3u]);
  }
  var r = s.x + s.y + s.z + s.w;
  for (; d < n; d++) {
    r += dg[a + d] * w_dec[b + d];
  }
  return r;
}

// dpre holds de·W_decᵀ on entry: kept (plus the L1 term for relu) where active, zeroed elsewhere,
// plus the auxiliary path of dead features.
@compute @workgroup_size(64)
fn mask_grad(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let f = gid.x;
  let t = wid.y;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  let tg = params.tok0 + t;
  let i = t * m + f;
  let v = pre[i];
  var g = 0.0;
  if (is_active(v, tg, f)) {
    g = dpre[i];
    if (ARCH == 0u) {
      g += params.sparsity / f32(params.n_batch);
    }
  }
  let a = aux_deriv(v, tg, f);
  if (a != 0.0) {
    if (GHOST_DENSE) {
      g += a * dgz[i];
    } else {
      g += a * dg_dot(tg, f);
    }
  }
  dpre[i] = g;
}

// dL/dW_dec[f, d] += g_t[d, f] (= Σ_t z·de) + Σ_t aux[t,f]·dg[t,d] for a dead f.
@compute @workgroup_size(64)
fn finish_w_dec(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let d = gid.x;
  let f = wid.y;
  let n = params.d_in;
  let m = params.d_sae;
  if (d >= n) {
    return;
  }
  var acc = g_t[d * m + f];
  if (GHOST_DENSE) {
    acc += g_aux_t[d * m + f];
  } else if (AUX != 0u && is_dead(f)) {
    for (var t = 0u; t < params.n_chunk; t++) {
      let tg = params.tok0 + t;
      let a = aux_act(pre[t * m + f], tg, f);
      if (a != 0.0) {
        acc += a * dg[tg * n + d];
      }
    }
  }
  let o = f * n + d;
  g_w_dec[o] = select(g_w_dec[o], 0.0, first_chunk()) + acc;
}

// dL/db_enc = Σ_t dpre, and the number of tokens where each feature fired.
@compute @workgroup_size(64)
fn feature_sums(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  var s = 0.0;
  var c = 0u;
  for (var t = 0u; t < params.n_chunk; t++) {
    s += dpre[t * m + f];
    c += select(0u, 1u, is_active(pre[t * m + f], params.tok0 + t, f));
  }
  g_b_enc[f] = select(g_b_enc[f], 0.0, first_chunk()) + s;
  fired[f] = select(fired[f], 0u, first_chunk()) + c;
}

