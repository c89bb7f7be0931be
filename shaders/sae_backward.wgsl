// SAE backward over one chunk of tokens. Gradients of W_enc, b_enc, W_dec and log_threshold
// accumulate across chunks (the chunk with tok0 = 0 overwrites); dL/dpre lives in one chunk-sized
// buffer and is zero outside active (and auxiliary) entries, which every loop skips.
// Prepended: ARCH/AUX/TOKEN_NORM constants and sae_common.wgsl.

@group(0) @binding(0) var<uniform> params: SaeParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [n_batch, d_in]
@group(0) @binding(2) var<storage, read> pre: array<f32>;          // [n_chunk, d_sae]
@group(0) @binding(3) var<storage, read> w_enc: array<f32>;        // [d_in, d_sae]
@group(0) @binding(4) var<storage, read> w_dec: array<f32>;        // [d_sae, d_in]
@group(0) @binding(5) var<storage, read> b_dec: array<f32>;        // [d_in]
@group(0) @binding(6) var<storage, read> log_thr: array<f32>;      // [d_sae]
@group(0) @binding(7) var<storage, read> key_thr: array<u32>; // [2, n_batch] TopK, then AuxK key thresholds
@group(0) @binding(8) var<storage, read> since_fired: array<u32>;  // [d_sae]
@group(0) @binding(9) var<storage, read> de: array<f32>;          // [n_batch, d_in]
@group(0) @binding(10) var<storage, read> dg: array<f32>;          // [n_batch, d_in]
@group(0) @binding(11) var<storage, read_write> dpre: array<f32>;  // [n_chunk, d_sae]
@group(0) @binding(12) var<storage, read_write> g_w_enc: array<f32>;
@group(0) @binding(13) var<storage, read_write> g_b_enc: array<f32>;
@group(0) @binding(14) var<storage, read_write> g_w_dec: array<f32>;
@group(0) @binding(15) var<storage, read_write> g_log_thr: array<f32>;
@group(0) @binding(16) var<storage, read_write> dxc: array<f32>;   // [n_batch, d_in] dL/d(x − b_dec)
@group(0) @binding(17) var<storage, read_write> g_b_dec: array<f32>;
@group(0) @binding(18) var<storage, read_write> fired: array<u32>; // [d_sae] tokens firing this step
@group(0) @binding(19) var<storage, read> act_list: array<u32>;     // [n_chunk, d_sae] lists, then [2, n_chunk] counts
@group(0) @binding(20) var<storage, read> scan: array<u32>;        // [0] dead count, dead list
@group(0) @binding(21) var<storage, read> feat_list: array<u32>;    // [d_sae, n_chunk] lists, then [2, d_sae] counts

fn first_chunk() -> bool {
  return params.tok0 == 0u;
}

// de[tg]·W_dec[f] and dg[tg]·W_dec[f], four elements per trip.
fn de_dot(tg: u32, f: u32) -> f32 {
  let n = params.d_in;
  let a = tg * n;
  let b = f * n;
  var s = vec4<f32>(0.0);
  var d = 0u;
  for (; d + 4u <= n; d += 4u) {
    s += vec4<f32>(de[a + d], de[a + d + 1u], de[a + d + 2u], de[a + d + 3u]) *
      vec4<f32>(w_dec[b + d], w_dec[b + d + 1u], w_dec[b + d + 2u], w_dec[b + d + 3u]);
  }
  var r = s.x + s.y + s.z + s.w;
  for (; d < n; d++) {
    r += de[a + d] * w_dec[b + d];
  }
  return r;
}

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

// Four consecutive d_in columns per invocation (clamped at the edge; stores are guarded).
fn cols4(d0: u32) -> vec4<u32> {
  let last = params.d_in - 1u;
  let c = min(d0, last);
  return vec4<u32>(c, min(c + 1u, last), min(c + 2u, last), min(c + 3u, last));
}

fn row4(buf_is_de: bool, row: u32, c: vec4<u32>) -> vec4<f32> {
  if (buf_is_de) {
    return vec4<f32>(de[row + c.x], de[row + c.y], de[row + c.z], de[row + c.w]);
  }
  return vec4<f32>(dg[row + c.x], dg[row + c.y], dg[row + c.z], dg[row + c.w]);
}

// dL/dpre[t, f] on the main path through active entries (plus the L1 term for relu, and the
// auxiliary term of active dead features). One workgroup per token walks the token's active list
// (lanes busy with real dot products, not masked by inactive neighbours) after zeroing the row.
@compute @workgroup_size(64)
fn grad_pre(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x;
  let m = params.d_sae;
  let tg = params.tok0 + t;
  for (var f = lid.x; f < m; f += 64u) {
    dpre[t * m + f] = 0.0;
  }
  storageBarrier();
  let count = act_list[params.n_chunk * params.d_sae + t];
  for (var i = lid.x; i < count; i += 64u) {
    let f = act_list[t * m + i];
    let v = pre[t * m + f];
    var g = de_dot(tg, f);
    if (ARCH == 0u) {
      g += params.sparsity / f32(params.n_batch);
    }
    let a = aux_deriv(v, tg, f);
    if (a != 0.0) {
      g += a * dg_dot(tg, f);
    }
    dpre[t * m + f] = g;
  }
}

// After grad_pre, with ghost grads: dL/dpre of the dead features that are not active (the
// auxiliary path only), one workgroup per token walking the dead list. A separate entry point so
// each binds at most 8 storage buffers.
@compute @workgroup_size(64)
fn grad_pre_dead(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x;
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let n_dead = scan[0];
  for (var i = lid.x; i < n_dead; i += 64u) {
    let f = scan[DEAD_LIST + i];
    let v = pre[t * m + f];
    let a = aux_deriv(v, tg, f);
    if (!is_active(v, tg, f) && a != 0.0) {
      dpre[t * m + f] = a * dg_dot(tg, f);
    }
  }
}

// After grad_pre, with AuxK: dL/dpre of the features AuxK selects that are not active (their
// derivative is 1), one workgroup per token walking the back of its row (sae_encode's compact).
@compute @workgroup_size(64)
fn grad_pre_auxk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x;
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let n_auxk = act_list[params.n_chunk * m + params.n_chunk + t];
  for (var j = lid.x; j < n_auxk; j += 64u) {
    let f = act_list[t * m + m - 1u - j];
    dpre[t * m + f] = dg_dot(tg, f);
  }
}

// dL/dW_dec[f, d] = Σ_t z[t,f]·de[t,d] over f's token list, + aux[t,f]·dg[t,d] for a dead f (under
// AuxK over its active tokens and the AuxK-only ones at the back of its row); also counts the tokens
// where f fired. One feature per row cell (row_cell), four columns per invocation.
@compute @workgroup_size(64)
fn grad_w_dec(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
  let cell = row_cell(gid.x, wid.y, lid.x);
  let d0 = cell.x;
  let f = cell.y;
  if (f >= params.d_sae) {
    return;
  }
  let n = params.d_in;
  let m = params.d_sae;
  let c = cols4(d0);
  var acc = vec4<f32>(0.0);
  let count = feat_list[params.d_sae * params.n_chunk + f];
  for (var i = 0u; i < count; i++) {
    let t = feat_list[f * params.n_chunk + i];
    acc += pre[t * m + f] * row4(true, (params.tok0 + t) * n, c);
  }
  if (AUX == 2u && is_dead(f)) {
    for (var i = 0u; i < count; i++) {
      let t = feat_list[f * params.n_chunk + i];
      let tg = params.tok0 + t;
      let a = aux_act(pre[t * m + f], tg, f);
      if (a != 0.0) {
        acc += a * row4(false, tg * n, c);
      }
    }
    let n_auxk = feat_list[m * params.n_chunk + m + f];
    for (var j = 0u; j < n_auxk; j++) {
      let t = feat_list[f * params.n_chunk + params.n_chunk - 1u - j];
      acc += pre[t * m + f] * row4(false, (params.tok0 + t) * n, c);
    }
  }
  if (AUX == 1u && is_dead(f)) {
    for (var t = 0u; t < params.n_chunk; t++) {
      let tg = params.tok0 + t;
      let a = aux_act(pre[t * m + f], tg, f);
      if (a != 0.0) {
        acc += a * row4(false, tg * n, c);
      }
    }
  }
  for (var j = 0u; j < 4u; j++) {
    if (d0 + j < n) {
      let o = f * n + d0 + j;
      g_w_dec[o] = select(g_w_dec[o], 0.0, first_chunk()) + acc[j];
    }
  }
  if (d0 == 0u) {
    fired[f] = select(fired[f], 0u, first_chunk()) + count;
  }
}

// dL/dW_enc[d, f] = Σ_t (x − b_dec)[t,d]·dpre[t,f] over f's token list and its AuxK-only tokens
// (every token for a dead feature under ghost grads): one feature and four d_in rows per invocation.
@compute @workgroup_size(64)
fn grad_w_enc(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  let d0 = gid.y * 4u;
  let n = params.d_in;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  let c = cols4(d0);
  let b = vec4<f32>(b_dec[c.x], b_dec[c.y], b_dec[c.z], b_dec[c.w]);
  var acc = vec4<f32>(0.0);
  if (AUX == 1u && is_dead(f)) {
    // A dead feature's ghost gradient reaches every token.
    for (var t = 0u; t < params.n_chunk; t++) {
      let g = dpre[t * m + f];
      if (g != 0.0) {
        let row = (params.tok0 + t) * n;
        acc += (vec4<f32>(x[row + c.x], x[row + c.y], x[row + c.z], x[row + c.w]) - b) * g;
      }
    }
  } else {
    let count = feat_list[params.d_sae * params.n_chunk + f];
    for (var i = 0u; i < count; i++) {
      let t = feat_list[f * params.n_chunk + i];
      let row = (params.tok0 + t) * n;
      acc += (vec4<f32>(x[row + c.x], x[row + c.y], x[row + c.z], x[row + c.w]) - b) * dpre[t * m + f];
    }
    // Zero for a live feature: AuxK selects dead ones only.
    let n_auxk = feat_list[m * params.n_chunk + m + f];
    for (var j = 0u; j < n_auxk; j++) {
      let t = feat_list[f * params.n_chunk + params.n_chunk - 1u - j];
      let row = (params.tok0 + t) * n;
      acc += (vec4<f32>(x[row + c.x], x[row + c.y], x[row + c.z], x[row + c.w]) - b) * dpre[t * m + f];
    }
  }
  for (var j = 0u; j < 4u; j++) {
    if (d0 + j < n) {
      let o = (d0 + j) * m + f;
      g_w_enc[o] = select(g_w_enc[o], 0.0, first_chunk()) + acc[j];
    }
  }
}

@compute @workgroup_size(64)
fn grad_b_enc(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  var acc = 0.0;
  for (var t = 0u; t < params.n_chunk; t++) {
    acc += dpre[t * m + f];
  }
  g_b_enc[f] = select(g_b_enc[f], 0.0, first_chunk()) + acc;
}

// dL/d(x − b_dec)[t, d] = Σ_f dpre[t,f]·W_enc[d,f] over the token's active list and its auxiliary
// features that are not active (AuxK's from the back of its row, every dead one under ghost grads;
// dpre is zero elsewhere); one token per row cell (row_cell), four columns per invocation.
@compute @workgroup_size(64)
fn grad_x(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let cell = row_cell(gid.x, wid.y, lid.x);
  let d0 = cell.x;
  let t = cell.y;
  if (t >= params.n_chunk) {
    return;
  }
  let n = params.d_in;
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let c = cols4(d0) * m;
  var acc = vec4<f32>(0.0);
  let count = act_list[params.n_chunk * params.d_sae + t];
  for (var i = 0u; i < count; i++) {
    let f = act_list[t * m + i];
    acc += dpre[t * m + f] * vec4<f32>(w_enc[c.x + f], w_enc[c.y + f], w_enc[c.z + f], w_enc[c.w + f]);
  }
  if (AUX == 2u) {
    let n_auxk = act_list[params.n_chunk * m + params.n_chunk + t];
    for (var j = 0u; j < n_auxk; j++) {
      let f = act_list[t * m + m - 1u - j];
      acc += dpre[t * m + f] * vec4<f32>(w_enc[c.x + f], w_enc[c.y + f], w_enc[c.z + f], w_enc[c.w + f]);
    }
  }
  if (AUX == 1u) {
    let n_dead = scan[0];
    for (var i = 0u; i < n_dead; i++) {
      let f = scan[DEAD_LIST + i];
      if (!is_active(pre[t * m + f], tg, f)) {
        let g = dpre[t * m + f];
        acc += g * vec4<f32>(w_enc[c.x + f], w_enc[c.y + f], w_enc[c.z + f], w_enc[c.w + f]);
      }
    }
  }
  for (var j = 0u; j < 4u; j++) {
    if (d0 + j < n) {
      dxc[tg * n + d0 + j] = acc[j];
    }
  }
}

// JumpReLU: d/d log θ through the rectangle-kernel straight-through estimator, for z (−θ/ε·K)
// and for the L0 penalty (−1/ε·K), times θ for the log parameterisation.
@compute @workgroup_size(64)
fn grad_log_thr(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  let theta = exp(log_thr[f]);
  let eps = params.bandwidth;
  var acc = 0.0;
  for (var t = 0u; t < params.n_chunk; t++) {
    let u = (pre[t * m + f] - theta) / eps;
    if (u > -0.5 && u < 0.5) {
      let dz = de_dot(params.tok0 + t, f);
      acc += theta * (-(theta / eps) * dz - params.sparsity / f32(params.n_batch) / eps);
    }
  }
  g_log_thr[f] = select(g_log_thr[f], 0.0, first_chunk()) + acc;
}

// After every chunk: dL/db_dec = Σ_t de − dxc (b_dec enters x̂ directly and x − b_dec negatively).
@compute @workgroup_size(64)
fn grad_b_dec(@builtin(global_invocation_id) gid: vec3<u32>) {
  let d = gid.x;
  let n = params.d_in;
  if (d >= n) {
    return;
  }
  var acc = 0.0;
  for (var t = 0u; t < params.n_batch; t++) {
    acc += de[t * n + d] - dxc[t * n + d];
  }
  g_b_dec[d] = acc;
}
