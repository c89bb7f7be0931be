// Feature statistics of SAE activations, accumulated on the GPU over batches of whole trials (no
// per-token readback): sums, fired counts, per-class sums, channel×patch maps, log10 histograms and
// a per-feature top-k of trials by their max activation; per-trial reconstruction sums; and a
// gather of the token activations of each feature's top trials. Prepended: `const HIST_BINS`,
// `HIST_LOW`, `HIST_WIDTH`.
//
// z is [B, T, F] (T = C·p tokens of a trial, channel-major), x and xhat are [B, T, D].

struct Params {
  n_trials: u32,  // B, trials in this batch
  tokens: u32,    // T
  d_sae: u32,     // F
  n_classes: u32, // K
  top_k: u32,
  d_in: u32,      // D
  class_off: u32, // offsets into `sums`: act_sum [F] at 0, class sums [K, F], maps [T, F]
  map_off: u32,
  set_trials: u32, // trials in the whole analysed set (rows of the per-trial reconstruction)
}

@group(0) @binding(0) var<uniform> params: Params;
// (trial id in the set, label, 0, 0) per trial of the batch.
@group(0) @binding(1) var<uniform> trial_meta: array<vec4<i32>, 128>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> sums: array<f32>;
// fired tokens [F] | fired trials [F] | histogram [F, HIST_BINS]
@group(0) @binding(4) var<storage, read_write> counts: array<u32>;
// top values (f32 bits) [F, k] | top trials (i32 bits) [F, k] | top tokens [F, k]
@group(0) @binding(5) var<storage, read_write> top: array<u32>;
@group(0) @binding(6) var<storage, read> x: array<f32>;
@group(0) @binding(7) var<storage, read> xhat: array<f32>;
// Σx per dimension [D] | per trial of the set (Σ‖x − x̂‖², Σ cos, Σ L0, Σ‖x‖²) [set_trials, 4]
@group(0) @binding(8) var<storage, read_write> recon: array<f32>;
// gathered token activations of the top trials [F, k, T]
@group(0) @binding(9) var<storage, read_write> gathered: array<f32>;

fn feature_index(wid: vec3<u32>, lid: u32, nwg: vec3<u32>) -> u32 {
  return (wid.y * nwg.x + wid.x) * 64u + lid;
}

fn hist_bin(v: f32) -> u32 {
  let b = floor((log2(v) * 0.30102999566398120 - HIST_LOW) / HIST_WIDTH);
  return u32(clamp(b, 0.0, f32(HIST_BINS - 1u)));
}

// Inserts (value, trial, token) into feature f's descending top list if it beats the last entry.
fn insert_top(f: u32, value: f32, trial: i32, token: u32) {
  let k = params.top_k;
  let fk = params.d_sae * k;
  let base = f * k;
  if (!(value > bitcast<f32>(top[base + k - 1u]))) {
    return;
  }
  var j = k - 1u;
  while (j > 0u && value > bitcast<f32>(top[base + j - 1u])) {
    top[base + j] = top[base + j - 1u];
    top[fk + base + j] = top[fk + base + j - 1u];
    top[2u * fk + base + j] = top[2u * fk + base + j - 1u];
    j--;
  }
  top[base + j] = bitcast<u32>(value);
  top[fk + base + j] = bitcast<u32>(trial);
  top[2u * fk + base + j] = token;
}

// One invocation per feature: walks every token of the batch in order (deterministic, no atomics).
@compute @workgroup_size(64)
fn accumulate(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let f = feature_index(wid, lid, nwg);
  let nf = params.d_sae;
  if (f >= nf) {
    return;
  }
  let t_count = params.tokens;
  var batch_sum = 0.0;
  var fired_tokens = 0u;
  var fired_trials = 0u;
  for (var b = 0u; b < params.n_trials; b++) {
    let m = trial_meta[b];
    var trial_sum = 0.0;
    var max_v = 0.0;
    var argmax = 0xffffffffu;
    var fired = 0u;
    for (var t = 0u; t < t_count; t++) {
      let v = z[(b * t_count + t) * nf + f];
      trial_sum += v;
      sums[params.map_off + t * nf + f] += v;
      if (v > 0.0) {
        fired++;
        counts[2u * nf + f * HIST_BINS + hist_bin(v)] += 1u;
      }
      if (v > max_v) {
        max_v = v;
        argmax = t;
      }
    }
    batch_sum += trial_sum;
    sums[params.class_off + u32(m.y) * nf + f] += trial_sum;
    fired_tokens += fired;
    if (fired > 0u) {
      fired_trials++;
    }
    insert_top(f, max_v, m.x, argmax);
  }
  sums[f] += batch_sum;
  counts[f] += fired_tokens;
  counts[nf + f] += fired_trials;
}

var<workgroup> red: array<vec4<f32>, 64>;

// One workgroup per trial of the batch: Σ‖x − x̂‖², Σ cos(x, x̂), Σ L0 and Σ‖x‖² over its tokens.
@compute @workgroup_size(64)
fn reconstruction(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let b = wid.x;
  let d = params.d_in;
  let nf = params.d_sae;
  var acc = vec4<f32>(0.0);
  for (var t = lid; t < params.tokens; t += 64u) {
    let n = b * params.tokens + t;
    var se = 0.0;
    var xx = 0.0;
    var hh = 0.0;
    var xh = 0.0;
    for (var j = 0u; j < d; j++) {
      let a = x[n * d + j];
      let h = xhat[n * d + j];
      se += (a - h) * (a - h);
      xx += a * a;
      hh += h * h;
      xh += a * h;
    }
    var l0 = 0u;
    for (var j = 0u; j < nf; j++) {
      if (z[n * nf + j] > 0.0) {
        l0++;
      }
    }
    acc += vec4<f32>(se, xh / max(sqrt(xx * hh), 1e-12), f32(l0), xx);
  }
  red[lid] = acc;
  workgroupBarrier();
  for (var s = 32u; s > 0u; s >>= 1u) {
    if (lid < s) {
      red[lid] += red[lid + s];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let row = d + u32(trial_meta[b].x) * 4u;
    recon[row] += red[0].x;
    recon[row + 1u] += red[0].y;
    recon[row + 2u] += red[0].z;
    recon[row + 3u] += red[0].w;
  }
}

// One invocation per input dimension: Σx over the batch's tokens (for the centred explained variance).
@compute @workgroup_size(64)
fn input_sum(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let j = feature_index(wid, lid, nwg);
  let d = params.d_in;
  if (j >= d) {
    return;
  }
  var s = 0.0;
  let n = params.n_trials * params.tokens;
  for (var i = 0u; i < n; i++) {
    s += x[i * d + j];
  }
  recon[j] += s;
}

// One invocation per (feature, top slot): copies the feature's activations over the tokens of that
// slot's trial when the trial is in this batch.
@compute @workgroup_size(64)
fn gather_top(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let i = feature_index(wid, lid, nwg);
  let nf = params.d_sae;
  let k = params.top_k;
  if (i >= nf * k) {
    return;
  }
  let f = i / k;
  let trial = bitcast<i32>(top[nf * k + i]);
  if (trial < 0) {
    return;
  }
  for (var b = 0u; b < params.n_trials; b++) {
    if (trial_meta[b].x == trial) {
      for (var t = 0u; t < params.tokens; t++) {
        gathered[i * params.tokens + t] = z[(b * params.tokens + t) * nf + f];
      }
    }
  }
}
