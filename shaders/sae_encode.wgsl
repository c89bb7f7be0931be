// SAE encoder: pre = (x − b_dec)·W_enc + b_enc over one chunk of tokens, and the selections that
// define which entries are active: per-token TopK and AuxK thresholds (a 4-rpass radix select in
// workgroup memory) and the batch-wide BatchTopK threshold (the same radix select with the
// histogram in storage). Prepended: ARCH/AUX/TOKEN_NORM constants and sae_common.wgsl.

@group(0) @binding(0) var<uniform> params: SaeParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;            // [n_batch, d_in]
@group(0) @binding(2) var<storage, read> w_enc: array<f32>;        // [d_in, d_sae]
@group(0) @binding(3) var<storage, read> b_enc: array<f32>;        // [d_sae]
@group(0) @binding(4) var<storage, read> b_dec: array<f32>;        // [d_in]
@group(0) @binding(5) var<storage, read_write> pre: array<f32>;    // [n_chunk, d_sae]
@group(0) @binding(6) var<storage, read> log_thr: array<f32>;      // [d_sae]
@group(0) @binding(7) var<storage, read> since_fired: array<u32>;  // [d_sae]
@group(0) @binding(8) var<storage, read_write> key_thr: array<u32>; // [2, n_batch] TopK, then AuxK key thresholds
// [0] dead count, [1] radix prefix, [2] radix remaining, [16..272) radix histogram,
// [272..272 + d_sae) the dead features' indices.
@group(0) @binding(9) var<storage, read_write> scan: array<atomic<u32>>;
@group(0) @binding(10) var<storage, read_write> run_thr: array<f32>; // [1] BatchTopK threshold
// Per token of the chunk: its active features and AuxK-only features (see `compact`).
@group(0) @binding(11) var<storage, read_write> act_list: array<u32>;     // [n_chunk, d_sae] lists, then [2, n_chunk] counts
// Per feature: the chunk's tokens where it is active or AuxK-only (see `compact_features`).
@group(0) @binding(12) var<storage, read_write> feat_list: array<u32>;    // [d_sae, n_chunk] lists, then [2, d_sae] counts

// `encode` register tile: 4 tokens × 4 features per invocation, one variable per accumulator
// (llvmpipe spills loop-indexed arrays to memory).
fn xc_at(row: u32, d: u32) -> f32 {
  return x[row + d] - b_dec[d];
}

@compute @workgroup_size(64)
fn encode(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = params.d_in;
  let m = params.d_sae;
  let f0 = gid.x * 4u;
  let t0 = gid.y * 4u;
  if (f0 >= m || t0 >= params.n_chunk) {
    return;
  }
  let last = params.n_chunk - 1u;
  let r0 = (params.tok0 + t0) * n;
  let r1 = (params.tok0 + min(t0 + 1u, last)) * n;
  let r2 = (params.tok0 + min(t0 + 2u, last)) * n;
  let r3 = (params.tok0 + min(t0 + 3u, last)) * n;
  let fm = m - 1u;
  let c0 = f0;
  let c1 = min(f0 + 1u, fm);
  let c2 = min(f0 + 2u, fm);
  let c3 = min(f0 + 3u, fm);
  let bias = vec4<f32>(b_enc[c0], b_enc[c1], b_enc[c2], b_enc[c3]);
  var a0 = bias;
  var a1 = bias;
  var a2 = bias;
  var a3 = bias;
  for (var d = 0u; d < n; d++) {
    let o = d * m;
    let w = vec4<f32>(w_enc[o + c0], w_enc[o + c1], w_enc[o + c2], w_enc[o + c3]);
    a0 += xc_at(r0, d) * w;
    a1 += xc_at(r1, d) * w;
    a2 += xc_at(r2, d) * w;
    a3 += xc_at(r3, d) * w;
  }
  store_row(t0, f0, a0);
  if (t0 + 1u < params.n_chunk) {
    store_row(t0 + 1u, f0, a1);
  }
  if (t0 + 2u < params.n_chunk) {
    store_row(t0 + 2u, f0, a2);
  }
  if (t0 + 3u < params.n_chunk) {
    store_row(t0 + 3u, f0, a3);
  }
}

fn store_row(t: u32, f0: u32, v: vec4<f32>) {
  let m = params.d_sae;
  for (var j = 0u; j < 4u; j++) {
    if (f0 + j < m) {
      pre[t * m + f0 + j] = v[j];
    }
  }
}

var<workgroup> hist: array<atomic<u32>, 256>;
var<workgroup> sh_prefix: u32;
var<workgroup> sh_remaining: u32;

fn select_key(v: f32, f: u32, aux: bool) -> u32 {
  if (aux) {
    return select(0u, order_key(v), is_dead(f));
  }
  return relu_key(v);
}

// Pass `rpass` of the radix select: scans the histogram from the top bin down and fixes one more
// byte of the k-th largest key. Called by one invocation.
fn radix_step(shift: u32, prefix: u32, remaining: u32, h: ptr<function, array<u32, 256>>) {
  var rem = remaining;
  var p = prefix;
  for (var b = 255i; b >= 0i; b--) {
    let c = (*h)[u32(b)];
    if (c >= rem) {
      p |= u32(b) << shift;
      break;
    }
    rem -= c;
  }
  sh_prefix = p;
  sh_remaining = rem;
}

// The k-th largest selection key of one token (0 when fewer than k keys are non-zero): over every
// feature, or for AuxK over the dead list only (a fraction of d_sae once features die).
fn token_threshold(t: u32, lid: u32, k: u32, aux: bool) -> u32 {
  let m = params.d_sae;
  var n = m;
  if (aux) {
    n = atomicLoad(&scan[0]);
  }
  if (lid == 0u) {
    sh_prefix = 0u;
    sh_remaining = k;
  }
  for (var rpass = 0u; rpass < 4u; rpass++) {
    let shift = 24u - 8u * rpass;
    atomicStore(&hist[lid], 0u);
    workgroupBarrier();
    let prefix = sh_prefix;
    let mask = select(0u, 0xFFFFFFFFu << ((shift + 8u) & 31u), rpass > 0u);
    for (var i = lid; i < n; i += 256u) {
      var f = i;
      if (aux) {
        f = atomicLoad(&scan[DEAD_LIST + i]);
      }
      let key = select_key(pre[t * m + f], f, aux);
      if ((key & mask) == prefix) {
        atomicAdd(&hist[(key >> shift) & 255u], 1u);
      }
    }
    workgroupBarrier();
    if (lid == 0u) {
      var h: array<u32, 256>;
      for (var b = 0u; b < 256u; b++) {
        h[b] = atomicLoad(&hist[b]);
      }
      radix_step(shift, prefix, sh_remaining, &h);
    }
    workgroupBarrier();
  }
  return workgroupUniformLoad(&sh_prefix);
}

@compute @workgroup_size(256)
fn select_topk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let thr = token_threshold(wid.x, lid.x, params.k, false);
  if (lid.x == 0u) {
    key_thr[params.tok0 + wid.x] = thr;
  }
}

var<workgroup> sh_dead: u32;

// With at most k_aux dead features every one is selected: threshold key 0, no radix select.
@compute @workgroup_size(256)
fn select_auxk(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  if (lid.x == 0u) {
    sh_dead = atomicLoad(&scan[0]);
  }
  var thr = 0u;
  if (workgroupUniformLoad(&sh_dead) > params.k_aux) {
    thr = token_threshold(wid.x, lid.x, params.k_aux, true);
  }
  if (lid.x == 0u) {
    key_thr[params.n_batch + params.tok0 + wid.x] = thr;
  }
}

var<workgroup> partial: array<u32, 256>;

// Counts dead features into scan[0], lists them, and resets the BatchTopK radix state.
// One workgroup.
@compute @workgroup_size(256)
fn count_dead(@builtin(local_invocation_id) lid: vec3<u32>) {
  var c = 0u;
  for (var f = lid.x; f < params.d_sae; f += 256u) {
    c += select(0u, 1u, is_dead(f));
  }
  partial[lid.x] = c;
  atomicStore(&scan[16u + lid.x], 0u);
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      partial[lid.x] += partial[lid.x + s];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    var j = 0u;
    for (var f = 0u; f < params.d_sae; f++) {
      if (is_dead(f)) {
        atomicStore(&scan[DEAD_LIST + j], f);
        j++;
      }
    }
    atomicStore(&scan[0], partial[0]);
    atomicStore(&scan[1], 0u);
    atomicStore(&scan[2], params.k);
  }
}

// BatchTopK: histogram of one radix rpass over a chunk (keys matching the prefix so far).
@compute @workgroup_size(256)
fn batch_hist(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
  atomicStore(&hist[lid.x], 0u);
  workgroupBarrier();
  let rpass = params.radix_pass;
  let shift = 24u - 8u * rpass;
  let mask = select(0u, 0xFFFFFFFFu << ((shift + 8u) & 31u), rpass > 0u);
  let prefix = atomicLoad(&scan[1]);
  let total = params.n_chunk * params.d_sae;
  for (var i = gid.x; i < total; i += nwg.x * 256u) {
    let key = relu_key(pre[i]);
    if ((key & mask) == prefix) {
      atomicAdd(&hist[(key >> shift) & 255u], 1u);
    }
  }
  workgroupBarrier();
  let c = atomicLoad(&hist[lid.x]);
  if (c > 0u) {
    atomicAdd(&scan[16u + lid.x], c);
  }
}

// BatchTopK: fixes one byte of the batch threshold; after the last rpass, writes it to every token
// and moves the running inference threshold toward the smallest kept activation.
@compute @workgroup_size(256)
fn batch_select(@builtin(local_invocation_id) lid: vec3<u32>) {
  let rpass = params.radix_pass;
  let shift = 24u - 8u * rpass;
  if (lid.x == 0u) {
    var h: array<u32, 256>;
    for (var b = 0u; b < 256u; b++) {
      h[b] = atomicLoad(&scan[16u + b]);
    }
    radix_step(shift, atomicLoad(&scan[1]), atomicLoad(&scan[2]), &h);
  }
  workgroupBarrier();
  atomicStore(&scan[16u + lid.x], 0u);
  if (lid.x == 0u) {
    atomicStore(&scan[1], sh_prefix);
    atomicStore(&scan[2], sh_remaining);
  }
  if (rpass == 3u) {
    let thr = workgroupUniformLoad(&sh_prefix);
    for (var t = lid.x; t < params.n_batch; t += 256u) {
      key_thr[t] = thr;
    }
    if (lid.x == 0u && thr > 0u) {
      // The first kept threshold starts the average: from 0 it would lag for ~1/(1 − momentum)
      // steps, and a short run would export a threshold that lets far more than k through.
      let batch_thr = bitcast<f32>(thr);
      let prev = run_thr[0];
      run_thr[0] = select(params.momentum * prev + (1.0 - params.momentum) * batch_thr,
                          batch_thr, prev == 0.0);
    }
  }
}

var<workgroup> block_counts: array<u32, 64>;
var<workgroup> block_auxk: array<u32, 64>;

// Each token's row of d_sae slots holds its active features from the front and, under AuxK, the
// dead features AuxK selects that are not active from the back (disjoint sets, so they fit); the
// counts follow the rows: [n_chunk] active, then [n_chunk] AuxK-only. One workgroup per token;
// each invocation takes a contiguous block of features, so the lists are the same on every run.
@compute @workgroup_size(64)
fn compact(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = wid.x;
  let m = params.d_sae;
  let tg = params.tok0 + t;
  let per = (m + 63u) / 64u;
  let f0 = lid.x * per;
  let f1 = min(f0 + per, m);
  var c = 0u;
  var a = 0u;
  for (var f = f0; f < f1; f++) {
    let v = pre[t * m + f];
    if (is_active(v, tg, f)) {
      c++;
    } else if (is_auxk(v, tg, f)) {
      a++;
    }
  }
  block_counts[lid.x] = c;
  block_auxk[lid.x] = a;
  workgroupBarrier();
  if (lid.x == 0u) {
    var total = 0u;
    var total_auxk = 0u;
    for (var i = 0u; i < 64u; i++) {
      let v = block_counts[i];
      block_counts[i] = total;
      total += v;
      let w = block_auxk[i];
      block_auxk[i] = total_auxk;
      total_auxk += w;
    }
    act_list[params.n_chunk * m + t] = total;
    act_list[params.n_chunk * m + params.n_chunk + t] = total_auxk;
  }
  workgroupBarrier();
  var o = t * m + block_counts[lid.x];
  var b = block_auxk[lid.x];
  for (var f = f0; f < f1; f++) {
    let v = pre[t * m + f];
    if (is_active(v, tg, f)) {
      act_list[o] = f;
      o++;
    } else if (is_auxk(v, tg, f)) {
      act_list[t * m + m - 1u - b] = f;
      b++;
    }
  }
}

// Each feature's row of n_chunk slots holds the tokens where it is active from the front and, under
// AuxK, the tokens where AuxK selects it but it is not active from the back, both in increasing
// token order; the counts follow the rows: [d_sae] active, then [d_sae] AuxK-only. One invocation
// per feature.
@compute @workgroup_size(64)
fn compact_features(@builtin(global_invocation_id) gid: vec3<u32>) {
  let f = gid.x;
  let m = params.d_sae;
  if (f >= m) {
    return;
  }
  let stride = params.n_chunk;
  var c = 0u;
  var a = 0u;
  for (var t = 0u; t < params.n_chunk; t++) {
    let v = pre[t * m + f];
    if (is_active(v, params.tok0 + t, f)) {
      feat_list[f * stride + c] = t;
      c++;
    } else if (is_auxk(v, params.tok0 + t, f)) {
      feat_list[f * stride + stride - 1u - a] = t;
      a++;
    }
  }
  feat_list[m * stride + f] = c;
  feat_list[m * stride + m + f] = a;
}
