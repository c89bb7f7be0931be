/**
 * SAE gradients: the float64 CPU reference against central finite differences, and the GPU
 * forward/backward (several token chunks, dead features) against the CPU reference, for every
 * architecture; BatchTopK's batch threshold against the same reference.
 */
import assert from "node:assert/strict";
import { CommandBatch, getGpu, readback, upload } from "../compute/gpu/mod.ts";
import { Rng } from "../compute/data/rng.ts";
import {
  type AuxMode,
  PARAM_NAMES,
  type SaeArchitecture,
  type SaeKernelConfig,
  STAT,
} from "../kernels/sae_common.ts";
import { type RefInput, type RefParams, saeLossRef } from "../kernels/sae_backward.ts";
import { kthLargest } from "../kernels/sae_encode.ts";
import { SaeGpu, type SaeWeights } from "../compute/sae/sae.ts";
import { supportsDensePath } from "../kernels/sae_dense.ts";

const D = 10; // not a multiple of 4: exercises the clamped column tiles
const F = 22;
const N = 11;
const DEAD_WINDOW = 5;

function makeCase(arch: SaeArchitecture, aux: AuxMode, seed: number, tokenNorm = true) {
  const rng = new Rng(seed);
  const cfg: SaeKernelConfig = { architecture: arch, aux, tokenNorm, dIn: D, dSae: F };
  const rnd = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.normal() * s);
  const params: SaeWeights = {
    wEnc: rnd(D * F, 0.5),
    bEnc: rnd(F, 0.2),
    wDec: rnd(F * D, 0.4),
    bDec: rnd(D, 0.3),
    logThreshold: Float32Array.from({ length: F }, () => Math.log(0.05 + 0.3 * rng.next())),
  };
  const x = rnd(N * D, 1);
  const dead = Array.from({ length: F }, (_, f) => f % 3 === 1);
  const inp: RefInput = {
    cfg,
    n: N,
    x,
    params,
    dead,
    k: 4,
    kAux: 3,
    sparsity: 0.3,
    bandwidth: 0.2,
    auxCoef: 0.5,
  };
  return { cfg, params, x, dead, inp };
}

const CASES: [SaeArchitecture, AuxMode, boolean][] = [
  ["relu", "ghost", true],
  ["relu", "none", false],
  ["topk", "auxk", false],
  ["batchtopk", "auxk", true],
  ["jumprelu", "none", false],
];

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

for (const [arch, aux, tokenNorm] of CASES) {
  Deno.test(`CPU reference matches finite differences: ${arch} aux=${aux} token_norm=${tokenNorm}`, () => {
    const { inp } = makeCase(arch, aux, 7, tokenNorm);
    const base = saeLossRef(inp);
    assert(base.auxLoss > 0 || aux === "none", "the auxiliary loss is exercised");
    const h = 1e-6;
    const rng = new Rng(3);
    const names = PARAM_NAMES.filter((n) => n !== "logThreshold");
    for (const name of names) {
      const p = Float64Array.from(inp.params[name]);
      const grad = base.grads[name];
      const scale = maxAbs(grad) + 1e-12;
      for (let trial = 0; trial < 12; trial++) {
        const i = rng.int(p.length);
        const at = (delta: number) => {
          const q = Float64Array.from(p);
          q[i] += delta;
          const params: RefParams = { ...inp.params, [name]: q };
          return saeLossRef({ ...inp, params, frozen: base.frozen }).loss;
        };
        const fd = (at(h) - at(-h)) / (2 * h);
        const err = Math.abs(fd - grad[i]);
        assert(err <= 1e-5 * scale + 1e-8, `${name}[${i}]: fd ${fd} vs analytic ${grad[i]}`);
      }
    }
  });

  const paths = [
    ...(supportsDensePath(arch) ? ["dense (matmul)"] : []),
    ...(supportsDensePath(arch) && aux === "ghost" ? ["dense with ghost matmuls"] : []),
    "list",
  ];
  for (const path of paths) {
    Deno.test(`GPU gradients match the CPU reference: ${arch} aux=${aux} token_norm=${tokenNorm} ${path} path`, async () => {
      const gpu = await getGpu();
      const { cfg, params, x, dead, inp } = makeCase(arch, aux, 11, tokenNorm);
      const ref = saeLossRef(inp);
      if (aux === "auxk") {
        // AuxK's lists hold selected dead features that are active and ones that are not.
        let active = 0;
        let auxOnly = 0;
        ref.frozen.auxSelected.forEach((s, i) => {
          if (s && ref.frozen.active[i]) active++;
          else if (s) auxOnly++;
        });
        assert(active > 0 && auxOnly > 0, `AuxK entries: ${active} active, ${auxOnly} not`);
      }
      const sae = new SaeGpu(gpu, cfg, N, params, 4);
      assert.deepEqual(sae.chunkSizes, [4, 4, 3]);
      sae.setBatch(x);
      upload(gpu, sae.bufs.sinceFired, Uint32Array.from(dead, (d) => d ? DEAD_WINDOW + 1 : 0));
      const batch = new CommandBatch(gpu, "sae grad test");
      sae.recordForwardBackward(batch, {
        sparsity: inp.sparsity,
        deadWindow: DEAD_WINDOW,
        k: inp.k,
        kAux: inp.kAux,
        bandwidth: inp.bandwidth,
        auxCoef: inp.auxCoef,
        momentum: 0.9,
        dense: path !== "list",
        ghostMatmul: path === "dense with ghost matmuls",
      });
      await batch.submit();
      const grads = await sae.readTensors(sae.bufs.grads);
      for (const name of PARAM_NAMES) {
        if (name === "logThreshold" && arch !== "jumprelu") continue;
        const want = ref.grads[name];
        const scale = maxAbs(want);
        if (name === "logThreshold") {
          assert(scale > 0, "some pre-activation lies in the kernel window");
        }
        for (let i = 0; i < want.length; i++) {
          const err = Math.abs(grads[name][i] - want[i]);
          assert(
            err <= 1e-4 * scale + 1e-6,
            `${name}[${i}]: gpu ${grads[name][i]} vs ref ${want[i]}`,
          );
        }
      }
      const xhat = await readback(gpu, sae.bufs.xhat);
      for (let i = 0; i < xhat.length; i++) {
        assert(Math.abs(xhat[i] - ref.xhat[i]) < 1e-4, `xhat[${i}] ${xhat[i]} vs ${ref.xhat[i]}`);
      }
      const stats = await readback(gpu, sae.bufs.stats);
      let mse = 0;
      let auxLoss = 0;
      for (let t = 0; t < N; t++) {
        mse += stats[t * 8 + STAT.mseLoss];
        auxLoss += stats[t * 8 + STAT.auxLoss];
      }
      assert(Math.abs(mse - ref.mse) <= 1e-4 * ref.mse, `mse ${mse} vs ${ref.mse}`);
      assert(
        Math.abs(auxLoss - ref.auxLoss) <= 1e-4 * ref.auxLoss + 1e-7,
        `aux ${auxLoss} vs ${ref.auxLoss}`,
      );
      sae.destroy();
    });
  }
}

Deno.test("batchtopk: the batch threshold under the current weights, the running one left alone", async () => {
  const gpu = await getGpu();
  const { cfg, params, x, inp } = makeCase("batchtopk", "auxk", 13, true);
  const ref = saeLossRef(inp);
  const positive = Array.from(ref.pre).filter((v) => v > 0);
  const want = kthLargest(positive, inp.k * N);
  assert(want > 0, "enough positive pre-activations for k·N");
  const sae = new SaeGpu(gpu, cfg, N, params, 4);
  sae.setBatch(x);
  upload(gpu, sae.bufs.runThreshold, Float32Array.of(0.125));
  const got = await sae.batchThreshold({
    sparsity: 0,
    deadWindow: DEAD_WINDOW,
    k: inp.k,
    kAux: inp.kAux,
    bandwidth: 0,
    auxCoef: 0,
    momentum: 0.9,
  });
  assert(Math.abs(got - want) <= 1e-5 * want, `threshold ${got} vs ${want}`);
  assert.equal((await readback(gpu, sae.bufs.runThreshold))[0], 0.125);
  sae.destroy();
});
