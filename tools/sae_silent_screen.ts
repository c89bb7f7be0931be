/**
 * A quick screen of an SAE's silent features, on the CPU: encodes every STRIDE-th token of an
 * activations folder, keeps each token's top K (the TopK/BatchTopK training rule; without K, the
 * SAE's own activation with its saved threshold) and reports the features that never fire, L0 and
 * explained variance. BENCHMARKS.md, "SAE at d_sae 8192", uses it for its sweeps.
 *
 * Usage: deno run -A tools/sae_silent_screen.ts SAE_DIR ACTIVATIONS [STRIDE=8] [K]
 */
import { loadSae } from "../compute/sae/checkpoint.ts";
import { ShardStream } from "../compute/sae/activation_store.ts";
import { kthLargest } from "../kernels/sae_encode.ts";

const [saeDir, activations, strideArg = "8", kArg] = Deno.args;
if (!saeDir || !activations) {
  console.error("usage: deno run -A tools/sae_silent_screen.ts SAE_DIR ACTIVATIONS [STRIDE] [K]");
  Deno.exit(1);
}
const stride = Number(strideArg);
const sae = await loadSae(saeDir);
const k = kArg === undefined ? (sae.architecture === "topk" ? sae.k : 0) : Number(kArg);
const stream = await ShardStream.open(activations);
const { dIn: d, dSae: m } = sae;
const fired = new Uint32Array(m);
const pre = new Float64Array(m);
const mean = new Float64Array(d);
const sum = new Float64Array(d);
let tokens = 0;
let active = 0;
let sqErr = 0;
let sqSum = 0;
for (let s = 0; s < stream.shardCount; s++) {
  const shard = await stream.load(s);
  for (let t = 0; t < shard.tokens; t += stride) {
    const x = shard.data.subarray(t * d, (t + 1) * d);
    for (let f = 0; f < m; f++) pre[f] = sae.bEnc[f];
    for (let j = 0; j < d; j++) {
      const v = x[j] - sae.bDec[j];
      for (let f = 0; f < m; f++) pre[f] += v * sae.wEnc[j * m + f];
    }
    const floor = k > 0 ? Math.max(kthLargest(pre, k), 0) : 0;
    const xhat = Float64Array.from(sae.bDec);
    for (let f = 0; f < m; f++) {
      const a = pre[f];
      const on = k > 0
        ? a > 0 && a >= floor
        : a > (sae.architecture === "jumprelu" ? sae.threshold[f] : 0);
      if (!on) continue;
      fired[f]++;
      active++;
      for (let j = 0; j < d; j++) xhat[j] += a * sae.wDec[f * d + j];
    }
    for (let j = 0; j < d; j++) {
      sqErr += (x[j] - xhat[j]) ** 2;
      sum[j] += x[j];
      sqSum += x[j] * x[j];
    }
    tokens++;
  }
}
// Σ‖x − x̄‖² = Σ‖x‖² − n‖x̄‖².
let meanSq = 0;
for (let j = 0; j < d; j++) {
  mean[j] = sum[j] / tokens;
  meanSq += mean[j] * mean[j];
}
const silent = fired.filter((c) => c === 0).length;
console.log(JSON.stringify({
  tokens,
  rule: k > 0 ? `top ${k} per token` : sae.architecture,
  silent,
  silent_fraction: silent / m,
  l0: active / tokens,
  explained_variance: 1 - sqErr / (sqSum - tokens * meanSq),
}));
