/**
 * Bench section: SAE training throughput (tokens/s) of one whole step (relu, ghost grads, Adam) at
 * d_in 512, d_sae 8192, 4096 tokens, next to the same step in numpy float32 (Debian's python3) on
 * the same machine, and the fraction of the measured FMA peak. On a software (fallback) adapter
 * the shape is scaled down so the section finishes; the table says which shape ran.
 * JSON key: `sae_step`.
 */
import { type Gpu, readback, upload } from "../gpu/mod.ts";
import { Rng } from "../data/rng.ts";
import { SaeGpu, type SaeWeights } from "../sae/sae.ts";
import { STAT, STAT_WIDTH } from "../../kernels/sae_common.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { formatTable, round } from "./format.ts";
import { timeGpu } from "./timing.ts";

export interface SaeStepShape {
  dIn: number;
  dSae: number;
  tokens: number;
}

export const SAE_STEP_SHAPE: SaeStepShape = { dIn: 512, dSae: 8192, tokens: 4096 };
/** What a software adapter runs instead (the full shape takes minutes per step there). */
export const SAE_STEP_SHAPE_SOFTWARE: SaeStepShape = { dIn: 512, dSae: 1024, tokens: 256 };

export interface SaeStepResult {
  shape: SaeStepShape;
  seconds_per_step: number;
  tokens_per_second: number;
  /** Mean active features per token during the timed steps (sets the sparse work). */
  l0: number;
  /** FLOPs the step must do: the dense encode plus 5 sparse passes over the active entries. */
  gflop_per_step: number;
  gflops: number;
  fraction_of_fma_peak: number | null;
  numpy: { seconds_per_step: number; tokens_per_second: number } | { error: string };
  /** The same shape as batchtopk with k = 32 (AuxK on): what the sparse decode/backward buy. */
  batchtopk_k32: SparseStepResult;
  /** The same with 30% of the features dead, so AuxK has work: what its lists cost. */
  batchtopk_k32_dead: SparseStepResult & { dead_fraction: number };
}

export interface SparseStepResult {
  seconds_per_step: number;
  tokens_per_second: number;
  l0: number;
}

/** Dead fraction of the AuxK bench row: about where training at d_sae 8192 sat (BENCHMARKS.md). */
const BENCH_DEAD_FRACTION = 0.3;

/** Random tied weights; features f with f % 10 < 10·deadFraction get b_enc −100 so they never fire. */
function randomWeights(s: SaeStepShape, rng: Rng, deadFraction: number): SaeWeights {
  const wDec = Float32Array.from({ length: s.dSae * s.dIn }, () => rng.normal() / Math.sqrt(s.dIn));
  const wEnc = new Float32Array(s.dIn * s.dSae);
  for (let f = 0; f < s.dSae; f++) {
    for (let d = 0; d < s.dIn; d++) wEnc[d * s.dSae + f] = wDec[f * s.dIn + d];
  }
  return {
    wEnc,
    bEnc: Float32Array.from(
      { length: s.dSae },
      (_, f) => (isBenchDead(f, deadFraction) ? -100 : 0),
    ),
    wDec,
    bDec: new Float32Array(s.dIn),
    logThreshold: new Float32Array(s.dSae),
  };
}

function isBenchDead(f: number, deadFraction: number): boolean {
  return f % 10 < deadFraction * 10;
}

/**
 * Times whole training steps on the GPU and reads the batch's mean L0: relu with ghost grads (the
 * default), or batchtopk with k active features per token (AuxK on), with a fraction of the
 * features dead (past the window and never firing). Steps are recorded back to back into one
 * submit by `timeGpu`, as many as make a run last 0.25 s, so Deno's fixed ~10 ms submit wait is not
 * timed as SAE work.
 */
export async function timeSaeStep(
  gpu: Gpu,
  s: SaeStepShape,
  runs: number,
  k = 0,
  deadFraction = 0,
): Promise<{ seconds: number; l0: number }> {
  const rng = new Rng(1);
  const deadWindow = 1000;
  const sae = new SaeGpu(
    gpu,
    k > 0
      ? { architecture: "batchtopk", aux: "auxk", tokenNorm: false, dIn: s.dIn, dSae: s.dSae }
      : { architecture: "relu", aux: "ghost", tokenNorm: true, dIn: s.dIn, dSae: s.dSae },
    s.tokens,
    randomWeights(s, rng, deadFraction),
  );
  let step = 0;
  try {
    sae.setBatch(Float32Array.from({ length: s.tokens * s.dIn }, () => rng.normal()));
    const since = Uint32Array.from(
      { length: s.dSae },
      (_, f) => (isBenchDead(f, deadFraction) ? deadWindow + 1 : 0),
    );
    upload(gpu, sae.bufs.sinceFired, since);
    // Each repetition is one whole step; timeGpu records them back to back into one submit.
    const seconds = await timeGpu(gpu, (batch) => {
      step++;
      sae.recordStep(
        batch,
        {
          sparsity: 1e-4,
          deadWindow,
          k,
          kAux: s.dIn / 2,
          bandwidth: 0,
          auxCoef: 1 / 32,
          momentum: 0.99,
        },
        { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, step, maxGradNorm: 0 },
      );
    }, { reps: 1, runs });
    const stats = await readback(gpu, sae.bufs.stats);
    let l0 = 0;
    for (let t = 0; t < s.tokens; t++) l0 += stats[t * STAT_WIDTH + STAT.l0] / s.tokens;
    return { seconds, l0 };
  } finally {
    sae.destroy();
  }
}

/** The same step (dense) in numpy float32: encode, relu, decode, token-norm MSE + L1, backward, Adam. */
const NUMPY_STEP = `
import json, sys, time
import numpy as np
d_in, d_sae, n, runs = (int(a) for a in sys.argv[1:5])
rng = np.random.default_rng(1)
f = np.float32
W_dec = (rng.standard_normal((d_sae, d_in)) / np.sqrt(d_in)).astype(f)
W_enc = W_dec.T.copy(); b_enc = np.zeros(d_sae, f); b_dec = np.zeros(d_in, f)
x = rng.standard_normal((n, d_in)).astype(f)
params = [W_enc, b_enc, W_dec, b_dec]
m = [np.zeros_like(p) for p in params]; v = [np.zeros_like(p) for p in params]
l1 = f(1e-4); lr = f(1e-4)
def step(t):
    xc = x - b_dec
    pre = xc @ W_enc + b_enc
    z = np.maximum(pre, 0)
    xh = z @ W_dec + b_dec
    e = xh - x
    w = 1 / np.linalg.norm(x, axis=1, keepdims=True)
    de = (2 / (n * d_in)) * w * e
    dz = de @ W_dec.T + l1 / n
    dpre = dz * (pre > 0)
    g = [xc.T @ dpre, dpre.sum(0), z.T @ de, de.sum(0) - (dpre @ W_enc.T).sum(0)]
    g[2] -= (g[2] * W_dec).sum(1, keepdims=True) * W_dec
    for i, p in enumerate(params):
        m[i] = 0.9 * m[i] + 0.1 * g[i]; v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i]
        p[...] -= (lr / (1 - 0.9 ** t)) * m[i] / (np.sqrt(v[i]) / np.sqrt(1 - 0.999 ** t) + 1e-8)
    W_dec[...] = W_dec / np.linalg.norm(W_dec, axis=1, keepdims=True)
step(1)
ts = []
for r in range(runs):
    t0 = time.perf_counter(); step(r + 2); ts.append(time.perf_counter() - t0)
print(json.dumps({"seconds": sorted(ts)[len(ts) // 2]}))
`;

export async function timeNumpyStep(s: SaeStepShape, runs: number): Promise<number> {
  const cmd = new Deno.Command("/usr/bin/python3", {
    args: ["-c", NUMPY_STEP, String(s.dIn), String(s.dSae), String(s.tokens), String(runs)],
    stdout: "piped",
    stderr: "piped",
  });
  const out = await cmd.output();
  if (!out.success) {
    throw new Error(
      `/usr/bin/python3 numpy SAE step failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)).seconds;
}

export async function benchSaeStep(ctx: BenchContext): Promise<SaeStepResult> {
  const scaled = ctx.gpu.adapter.isFallbackAdapter && !ctx.fullShapes;
  const shape = scaled ? SAE_STEP_SHAPE_SOFTWARE : SAE_STEP_SHAPE;
  // A full-shape step takes tens of seconds on a software adapter.
  const runs = ctx.quick || (ctx.gpu.adapter.isFallbackAdapter && !scaled) ? 2 : 5;
  const { seconds, l0 } = await timeSaeStep(ctx.gpu, shape, runs);
  const nnz = l0 * shape.tokens;
  const flop = 2 * shape.tokens * shape.dIn * shape.dSae + 5 * 2 * nnz * shape.dIn;
  const peak = typeof ctx.results.fma_peak_gflops === "number" ? ctx.results.fma_peak_gflops : null;
  const gflops = flop / seconds / 1e9;
  let numpy: SaeStepResult["numpy"];
  try {
    const np = await timeNumpyStep(shape, runs);
    numpy = { seconds_per_step: round(np, 5), tokens_per_second: round(shape.tokens / np, 1) };
  } catch (e) {
    numpy = { error: (e as Error).message };
  }
  const sparse = await timeSaeStep(ctx.gpu, shape, runs, 32);
  const withDead = await timeSaeStep(ctx.gpu, shape, runs, 32, BENCH_DEAD_FRACTION);
  return {
    shape,
    seconds_per_step: round(seconds, 5),
    tokens_per_second: round(shape.tokens / seconds, 1),
    l0: round(l0, 1),
    gflop_per_step: round(flop / 1e9, 3),
    gflops: round(gflops, 3),
    fraction_of_fma_peak: peak ? round(gflops / peak, 4) : null,
    numpy,
    batchtopk_k32: {
      seconds_per_step: round(sparse.seconds, 5),
      tokens_per_second: round(shape.tokens / sparse.seconds, 1),
      l0: round(sparse.l0, 1),
    },
    batchtopk_k32_dead: {
      seconds_per_step: round(withDead.seconds, 5),
      tokens_per_second: round(shape.tokens / withDead.seconds, 1),
      l0: round(withDead.l0, 1),
      dead_fraction: BENCH_DEAD_FRACTION,
    },
  };
}

export const saeStepSection: BenchSection = {
  name: "sae step",
  async run(ctx: BenchContext): Promise<void> {
    const r = await benchSaeStep(ctx);
    ctx.results.sae_step = r;
    const s = r.shape;
    if (s !== SAE_STEP_SHAPE) {
      ctx.log(
        `software adapter: scaled down from d_in ${SAE_STEP_SHAPE.dIn}, d_sae ${SAE_STEP_SHAPE.dSae}, ${SAE_STEP_SHAPE.tokens} tokens`,
      );
    }
    const np = "error" in r.numpy ? r.numpy.error : `${r.numpy.tokens_per_second} tokens/s`;
    ctx.log(formatTable([
      ["shape", "ours tokens/s", "s/step", "L0", "GFLOP/s", "of FMA peak", "numpy f32"],
      [
        `d_in ${s.dIn} d_sae ${s.dSae} × ${s.tokens}`,
        String(r.tokens_per_second),
        String(r.seconds_per_step),
        String(r.l0),
        String(r.gflops),
        r.fraction_of_fma_peak === null ? "n/a" : `${(r.fraction_of_fma_peak * 100).toFixed(2)}%`,
        np,
      ],
      [
        "  same, batchtopk k=32",
        String(r.batchtopk_k32.tokens_per_second),
        String(r.batchtopk_k32.seconds_per_step),
        String(r.batchtopk_k32.l0),
        "",
        "",
        "",
      ],
      [
        `  same, ${r.batchtopk_k32_dead.dead_fraction * 100}% dead (AuxK)`,
        String(r.batchtopk_k32_dead.tokens_per_second),
        String(r.batchtopk_k32_dead.seconds_per_step),
        String(r.batchtopk_k32_dead.l0),
        "",
        "",
        "",
      ],
    ]));
  },
};
