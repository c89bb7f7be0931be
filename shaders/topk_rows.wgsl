// Per-row top-k in place over non-negative values z [rows, width] (a per-token TopK SAE's ReLU'd
// pre-activations): a value stays if it is positive and at least the row's k-th largest, and
// becomes 0 otherwise (ties at the k-th value all stay, as with a threshold). One workgroup per row.
// For non-negative floats the order of the bit patterns is the order of the values, so the k-th
// largest is found bit by bit from the top: the largest pattern T with count(bits ≥ T) ≥ k.

struct Params {
  rows: u32,
  width: u32,
  k: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;

const WG: u32 = 256u;

var<workgroup> partial: array<u32, WG>;

/** The order key of a value: its bits when positive, 0 for zero, negatives and NaN. */
fn key(v: f32) -> u32 {
  return select(0u, bitcast<u32>(v), v > 0.0);
}

/** How many values of the row have a key ≥ t, in every invocation. */
fn count_at_least(base: u32, lid: u32, t: u32) -> u32 {
  var c = 0u;
  for (var i = lid; i < params.width; i += WG) {
    c += select(0u, 1u, key(z[base + i]) >= t);
  }
  partial[lid] = c;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (lid < s) {
      partial[lid] += partial[lid + s];
    }
    workgroupBarrier();
  }
  let total = partial[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn topk_rows(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let row = wid.y * nwg.x + wid.x;
  // Uniform across the workgroup, so every invocation reaches the barriers below or none does.
  if (row >= params.rows) {
    return;
  }
  let base = row * params.width;
  var threshold = 1u; // k ≥ width: keep every positive value
  if (params.k < params.width) {
    var prefix = 0u;
    for (var bit = 30u; bit < 31u; bit--) {
      let candidate = prefix | (1u << bit);
      if (count_at_least(base, lid, candidate) >= params.k) {
        prefix = candidate;
      }
    }
    threshold = max(prefix, 1u);
  }
  for (var i = lid; i < params.width; i += WG) {
    if (key(z[base + i]) < threshold) {
      z[base + i] = 0.0;
    }
  }
}
