// SAE decoder and loss pieces for one chunk of tokens: x̂ = z·W_dec + b_dec reading only active
// entries, the auxiliary decode of dead features (ghost grads or AuxK), and one workgroup per token
// for the error, its gradient and the per-token statistics. Prepended: ARCH/AUX/TOKEN_NORM
// constants and sae_common.wgsl.

@group(0) @binding(0) var<uniform> params: SaeParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [n_batch, d_in]
@group(0) @binding(2) var<storage, read> pre: array<f32>;          // [n_chunk, d_sae]
@group(0) @binding(3) var<storage, read> w_dec: array<f32>;        // [d_sae, d_in]
@group(0) @binding(4) var<storage, read> b_dec: array<f32>;        // [d_in]
@group(0) @binding(5) var<storage, read> log_thr: array<f32>;      // [d_sae]
@group(0) @binding(6) var<storage, read> key_thr: array<u32>; // [2, n_batch] TopK, then AuxK key thresholds
@group(0) @binding(7) var<storage, read> since_fired: array<u32>;  // [d_sae]
@group(0) @binding(8) var<storage, read> scan: array<u32>;         // [0] dead count
@group(0) @binding(9) var<storage, read_write> xhat: array<f32>;  // [n_batch, d_in]
@group(0) @binding(10) var<storage, read_write> aux_out: array<f32>; // [n_batch, d_in]
@group(0) @binding(11) var<storage, read_write> de: array<f32>;    // [n_batch, d_in] dL/dx̂
@group(0) @binding(12) var<storage, read_write> dg: array<f32>;    // [n_batch, d_in] dL/d aux_out
// Per token: Σe², ‖x‖², ‖x̂‖², x·x̂, Σz, count(z≠0), main loss, auxiliary loss.
@group(0) @binding(13) var<storage, read_write> stats: array<f32>; // [n_batch, 8]
@group(0) @binding(14) var<storage, read> act_list: array<u32>;     // [n_chunk, d_sae] lists, then [2, n_chunk] counts

// Four consecutive output columns per invocation (explicit accumulators: llvmpipe spills indexed
// arrays); one token per row cell (row_cell), walking that token's active-feature list.
fn dec_cols(d0: u32) -> vec4<u32> {
  let last = params.d_in - 1u;
  return vec4<u32>(d0, min(d0 + 1u, last), min(d0 + 2u, last), min(d0 + 3u, last));
}

fn w_dec4(f: u32, c: vec4<u32>) -> vec4<f32> {
  let o = f * params.d_in;
  return vec4<f32>(w_dec[o + c.x], w_dec[o + c.y], w_dec[o + c.z], w_dec[o + c.w]);
}

fn store4(buf_is_xhat: bool, tg: u32, d0: u32, v: vec4<f32>) {
  let n = params.d_in;
  for (var j = 0u; j < 4u; j++) {
    if (d0 + j < n) {
      if (buf_is_xhat) {
        xhat[tg * n + d0 + j] = v[j];
      } else {
        aux_out[tg * n + d0 + j] = v[j];
      }
    }
  }
}

@compute @workgroup_size(64)
fn decode(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let cell = row_cell(gid.x, wid.y, lid.x);
  let d0 = cell.x;
  let t = cell.y;
  if (t >= params.n_chunk) {
    return;
  }
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let c = dec_cols(min(d0, params.d_in - 1u));
  var acc = vec4<f32>(b_dec[c.x], b_dec[c.y], b_dec[c.z], b_dec[c.w]);
  let count = act_list[params.n_chunk * params.d_sae + t];
  for (var i = 0u; i < count; i++) {
    let f = act_list[t * m + i];
    acc += pre[t * m + f] * w_dec4(f, c);
  }
  store4(true, tg, d0, acc);
}

// Ghost grads: every dead feature contributes, so this loops over the dead-feature list
// (scan[DEAD_LIST..]).
@compute @workgroup_size(64)
fn aux_decode(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(local_invocation_id) lid: vec3<u32>) {
  let cell = row_cell(gid.x, wid.y, lid.x);
  let d0 = cell.x;
  let t = cell.y;
  if (t >= params.n_chunk) {
    return;
  }
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let c = dec_cols(min(d0, params.d_in - 1u));
  var acc = vec4<f32>(0.0);
  let n_dead = scan[0];
  for (var i = 0u; i < n_dead; i++) {
    let f = scan[DEAD_LIST + i];
    let a = aux_act(pre[t * m + f], tg, f);
    if (a != 0.0) {
      acc += a * w_dec4(f, c);
    }
  }
  store4(false, tg, d0, acc);
}

// AuxK: only the token's k_aux selected dead features contribute: the active ones among its active
// list (aux_act is zero for the rest) and the AuxK-only ones from the back of its row (sae_encode's
// compact), so the work follows k_aux, not the number of dead features.
@compute @workgroup_size(64)
fn auxk_decode(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(local_invocation_id) lid: vec3<u32>) {
  let cell = row_cell(gid.x, wid.y, lid.x);
  let d0 = cell.x;
  let t = cell.y;
  if (t >= params.n_chunk) {
    return;
  }
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let c = dec_cols(min(d0, params.d_in - 1u));
  var acc = vec4<f32>(0.0);
  let count = act_list[params.n_chunk * m + t];
  for (var i = 0u; i < count; i++) {
    let f = act_list[t * m + i];
    let a = aux_act(pre[t * m + f], tg, f);
    if (a != 0.0) {
      acc += a * w_dec4(f, c);
    }
  }
  let n_auxk = act_list[params.n_chunk * m + params.n_chunk + t];
  for (var j = 0u; j < n_auxk; j++) {
    let f = act_list[t * m + m - 1u - j];
    acc += pre[t * m + f] * w_dec4(f, c);
  }
  store4(false, tg, d0, acc);
}

const TOKEN_WG: u32 = 64u; // invocations per token in token_loss / aux_loss

var<workgroup> red: array<vec4<f32>, TOKEN_WG>;

fn reduce4(lid: u32, v: vec4<f32>) -> vec4<f32> {
  red[lid] = v;
  workgroupBarrier();
  for (var s = TOKEN_WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

fn token_weight(norm: f32) -> f32 {
  return select(1.0, 1.0 / max(norm, 1e-6), TOKEN_NORM != 0u);
}

@compute @workgroup_size(TOKEN_WG)
fn token_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x;
  let tg = params.tok0 + t;
  let n = params.d_in;
  let m = params.d_sae;
  var s = vec4<f32>(0.0);
  var s2 = vec4<f32>(0.0);
  for (var d = lid.x; d < n; d += TOKEN_WG) {
    let xv = x[tg * n + d];
    let xh = xhat[tg * n + d];
    let e = xh - xv;
    s += vec4<f32>(e * e, xv * xv, xh * xh, xv * xh);
  }
  for (var f = lid.x; f < m; f += TOKEN_WG) {
    let z = act(pre[t * m + f], tg, f);
    s2 += vec4<f32>(abs(z), select(0.0, 1.0, z != 0.0), 0.0, 0.0);
  }
  let tot = reduce4(lid.x, s);
  let tot2 = reduce4(lid.x, s2);
  let w = token_weight(sqrt(tot.y));
  let g = 2.0 * params.mse_scale * w;
  for (var d = lid.x; d < n; d += TOKEN_WG) {
    de[tg * n + d] = g * (xhat[tg * n + d] - x[tg * n + d]);
  }
  if (lid.x == 0u) {
    let o = tg * 8u;
    stats[o] = tot.x;
    stats[o + 1u] = tot.y;
    stats[o + 2u] = tot.z;
    stats[o + 3u] = tot.w;
    stats[o + 4u] = tot2.x;
    stats[o + 5u] = tot2.y;
    stats[o + 6u] = params.mse_scale * w * tot.x;
    stats[o + 7u] = 0.0;
  }
}

// Ghost grads (AUX 1): the dead features' decode g, scaled to half the residual norm (scale not
// differentiated), its error against the residual r = x − x̂ (not differentiated) normalised like
// the main loss by ‖r‖, rescaled element-wise to the main error (ratio not differentiated).
// AuxK (AUX 2): scale · aux_coef · mean_t ‖g − r‖², scale = min(dead / k_aux, 1).
@compute @workgroup_size(TOKEN_WG)
fn aux_loss(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x;
  let tg = params.tok0 + t;
  let n = params.d_in;
  let n_dead = scan[0];
  var s = vec4<f32>(0.0);
  for (var d = lid.x; d < n; d += TOKEN_WG) {
    let r = x[tg * n + d] - xhat[tg * n + d];
    let g = aux_out[tg * n + d];
    s += vec4<f32>(r * r, g * g, x[tg * n + d] * x[tg * n + d], 0.0);
  }
  let tot = reduce4(lid.x, s);
  var loss = vec4<f32>(0.0);
  if (AUX == 1u) {
    let rnorm = sqrt(tot.x);
    let scale = rnorm / (1e-6 + 2.0 * sqrt(tot.y));
    let q = token_weight(rnorm);
    let w = token_weight(sqrt(tot.z));
    for (var d = lid.x; d < n; d += TOKEN_WG) {
      let r = x[tg * n + d] - xhat[tg * n + d];
      let u = scale * aux_out[tg * n + d] - r;
      let h = u * u * q;
      let ratio = (w * r * r) / (h + 1e-6);
      var grad = 0.0;
      if (n_dead > 0u) {
        loss.x += params.mse_scale * ratio * h;
        grad = params.mse_scale * ratio * 2.0 * u * scale * q;
      }
      dg[tg * n + d] = grad;
    }
  } else {
    let scale = min(f32(n_dead) / f32(max(params.k_aux, 1u)), 1.0);
    let c = params.aux_coef * scale / f32(params.n_batch);
    for (var d = lid.x; d < n; d += TOKEN_WG) {
      let u = aux_out[tg * n + d] - (x[tg * n + d] - xhat[tg * n + d]);
      loss.x += c * u * u;
      dg[tg * n + d] = 2.0 * c * u;
    }
  }
  let l = reduce4(lid.x, loss);
  if (lid.x == 0u) {
    stats[tg * 8u + 7u] = l.x;
  }
}
