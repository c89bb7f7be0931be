/**
 * Times one relu training step with ghost grads on a trained SAE's weights and real activations,
 * on the lists (ghost loops over the dead features) and dense (ghost terms by matmuls), side by
 * side at several dead fractions: what GHOST_DENSE_MIN_DEAD_FRACTION (kernels/sae_dense.ts) was
 * chosen from. A trained SAE gives the step its real L0; the dead features are taken among those
 * that fire on none of the step's tokens, so they stay dead over the timed steps (lr 0: the
 * weights stay put).
 *
 * Usage: deno run -A tools/sae_path_timing.ts SAE_DIR ACTIVATIONS [TOKENS=512] [DEAD_PERCENTS=1,5,10,30]
 */
import { getGpu, readback, upload } from "../compute/gpu/mod.ts";
import { loadSae } from "../compute/sae/checkpoint.ts";
import { ShardStream } from "../compute/sae/activation_store.ts";
import { SaeGpu } from "../compute/sae/sae.ts";
import { timeGpu } from "../compute/bench/timing.ts";
import { formatTable } from "../compute/bench/format.ts";
import { STAT, STAT_WIDTH } from "../kernels/sae_common.ts";

const [saeDir, activations, tokensArg = "512", deadArg = "1,5,10,30"] = Deno.args;
if (!saeDir || !activations) {
  console.error(
    "usage: deno run -A tools/sae_path_timing.ts SAE_DIR ACTIVATIONS [TOKENS] [DEAD_PERCENTS]",
  );
  Deno.exit(1);
}
const sae = await loadSae(saeDir);
if (sae.architecture !== "relu") {
  console.error(`${saeDir}: a relu SAE is needed (ghost grads), not ${sae.architecture}`);
  Deno.exit(1);
}
const tokens = Number(tokensArg);
const shard = await (await ShardStream.open(activations)).load(0);
if (shard.tokens < tokens) {
  console.error(`${activations}: the first shard has ${shard.tokens} tokens, fewer than ${tokens}`);
  Deno.exit(1);
}
const x = Float32Array.from(shard.data.subarray(0, tokens * sae.dIn));
// The features that fire on none of these tokens, in index order.
const silent: number[] = [];
{
  const { dIn: d, dSae: m } = sae;
  const fires = new Uint8Array(m);
  const pre = new Float64Array(m);
  for (let t = 0; t < tokens; t++) {
    pre.set(sae.bEnc);
    for (let j = 0; j < d; j++) {
      const v = x[t * d + j] - sae.bDec[j];
      for (let f = 0; f < m; f++) pre[f] += v * sae.wEnc[j * m + f];
    }
    for (let f = 0; f < m; f++) if (pre[f] > 0) fires[f] = 1;
  }
  fires.forEach((on, f) => on || silent.push(f));
}
const gpu = await getGpu();
const deadWindow = 5;
const rows = [["dead", "L0", "lists s/step", "dense s/step", "lists / dense"]];
for (const percent of deadArg.split(",").map(Number)) {
  const nDead = Math.round(sae.dSae * percent / 100);
  if (nDead > silent.length) {
    console.error(`${percent} % dead: only ${silent.length} features are silent on these tokens`);
    continue;
  }
  const since = new Uint32Array(sae.dSae);
  for (const f of silent.slice(0, nDead)) since[f] = deadWindow + 1;
  const seconds: number[] = [];
  let l0 = 0;
  for (const dense of [false, true]) {
    const step = new SaeGpu(
      gpu,
      { architecture: "relu", aux: "ghost", tokenNorm: false, dIn: sae.dIn, dSae: sae.dSae },
      tokens,
      {
        wEnc: Float32Array.from(sae.wEnc),
        bEnc: Float32Array.from(sae.bEnc),
        wDec: Float32Array.from(sae.wDec),
        bDec: Float32Array.from(sae.bDec),
        logThreshold: new Float32Array(sae.dSae),
      },
    );
    try {
      step.setBatch(x);
      upload(gpu, step.bufs.sinceFired, since);
      let n = 0;
      seconds.push(
        await timeGpu(gpu, (batch) => {
          n++;
          step.recordStep(batch, {
            sparsity: 0,
            deadWindow,
            k: 0,
            kAux: 0,
            bandwidth: 0,
            auxCoef: 1,
            momentum: 0.99,
            dense,
            ghostMatmul: dense,
          }, { lr: 0, beta1: 0.9, beta2: 0.999, eps: 1e-8, step: n, maxGradNorm: 0 });
        }, { reps: 1, runs: 3 }),
      );
      const stats = await readback(gpu, step.bufs.stats);
      l0 = 0;
      for (let t = 0; t < tokens; t++) l0 += stats[t * STAT_WIDTH + STAT.l0] / tokens;
    } finally {
      step.destroy();
    }
  }
  rows.push([
    `${percent} %`,
    l0.toFixed(1),
    seconds[0].toFixed(3),
    seconds[1].toFixed(3),
    (seconds[0] / seconds[1]).toFixed(2),
  ]);
}
console.log(`${saeDir}: d_in ${sae.dIn}, d_sae ${sae.dSae}, ${tokens} tokens a step`);
console.log(formatTable(rows));
