/**
 * Bench section: matmul GFLOP/s at the REVE-base and SAE shapes, ours against onnxruntime-web
 * (wasm and WebGPU) and the FMA peak measured around each shape. REVE's shapes run as the model
 * runs them, weights in a texture; the same shapes with weights in a buffer follow for comparison.
 * JSON keys: `matmul` (one entry per shape) and `matmul_fraction_of_peak` (the worst REVE shape's
 * fraction of its peak, weights in a texture).
 */
import { createMatrixTexture, createTensor, type Gpu } from "../gpu/mod.ts";
import {
  destroyMatmulB,
  heuristicMatmulTile,
  type MatmulShape,
  type MatmulTile,
  matmulWithTile,
} from "../../kernels/matmul.ts";
import { setMatmulAutotune, tuneMatmul } from "../../kernels/matmul_tuner.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { measureFmaPeak } from "./fma_peak.ts";
import { formatTable, round } from "./format.ts";
import { OnnxGraphBuilder } from "../onnx/graph_builder.ts";
import { createOrtSession, type OrtBackend } from "../onnx/ort_session.ts";
import { repsFor, timeAsync, timeGpu, type TimingOptions } from "./timing.ts";

export interface MatmulBenchShape {
  name: string;
  /** `reve` rows make the headline; `reve-buffer` repeats them with B in a buffer. */
  family: "reve" | "reve-buffer" | "sae";
  m: number;
  k: number;
  n: number;
  /** Our layout: PyTorch [out, in] weights for REVE (a·Bᵀ), [in, out] for the SAE. */
  transposeB: boolean;
  /** B in a MatrixTexture, as the REVE model holds its weights. */
  textureB: boolean;
}

/** REVE-base's matmuls for one trial (88 tokens = 22 channels × 4 patches). */
const REVE_SHAPES = [
  { what: "qkv", k: 512, n: 1536 },
  { what: "mlp-in", k: 512, n: 2722 },
  // The model pads the hidden width 1361 to 1364 (compute/reve/mlp_padding.ts): this is what runs.
  { what: "mlp-out", k: 1364, n: 512 },
];

export const MATMUL_BENCH_SHAPES: readonly MatmulBenchShape[] = [
  ...REVE_SHAPES.map(({ what, k, n }) => ({
    name: `reve ${what} 88x${k}·${k}→${n}`,
    family: "reve" as const,
    m: 88,
    k,
    n,
    transposeB: true,
    textureB: true,
  })),
  ...REVE_SHAPES.map(({ what, k, n }) => ({
    name: `  same, B in a buffer (${what})`,
    family: "reve-buffer" as const,
    m: 88,
    k,
    n,
    transposeB: true,
    textureB: false,
  })),
  {
    name: "sae encode 4096x512·512→8192",
    family: "sae",
    m: 4096,
    k: 512,
    n: 8192,
    transposeB: false,
    textureB: false,
  },
  {
    name: "sae decode 4096x8192·8192→512",
    family: "sae",
    m: 4096,
    k: 8192,
    n: 512,
    transposeB: false,
    textureB: false,
  },
];

export interface MatmulBenchEntry {
  shape: string;
  m: number;
  k: number;
  n: number;
  tile: MatmulTile;
  ours_gflops: number;
  /** FMA peak measured right before and after this shape (mean). */
  nearby_peak_gflops: number;
  /** ours over the nearby peak. */
  ours_fraction_of_peak: number;
  ort_wasm_gflops: number | null;
  ort_webgpu_gflops: number | null;
  ours_vs_ort_wasm: number | null;
  ours_vs_ort_webgpu: number | null;
  ort_wasm_error?: string;
  ort_webgpu_error?: string;
}

/** GFLOP/s of our kernel with the heuristic's tile, or the autotuner's. */
export async function benchOurMatmul(
  gpu: Gpu,
  s: MatmulBenchShape,
  runs: number,
  targetFlop: number,
  autotune: boolean,
): Promise<{ gflops: number; tile: MatmulTile }> {
  const shape: MatmulShape = {
    m: s.m,
    n: s.n,
    k: s.k,
    batch: 1,
    transposeB: s.transposeB,
    textureB: s.textureB,
  };
  if (autotune) await setMatmulAutotune(true);
  const tile = autotune
    ? await tuneMatmul(gpu, shape)
    : heuristicMatmulTile(shape, gpu.adapter.isFallbackAdapter);
  const rand = (n: number) => new Float32Array(n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const a = createTensor(gpu, [s.m, s.k], "f32", "bench a", rand(s.m * s.k));
  const b = s.textureB
    ? createMatrixTexture(gpu, s.n, s.k, rand(s.k * s.n), "bench b")
    : createTensor(gpu, s.transposeB ? [s.n, s.k] : [s.k, s.n], "f32", "bench b", rand(s.k * s.n));
  const out = createTensor(gpu, [s.m, s.n], "f32", "bench out");
  const flop = 2 * s.m * s.n * s.k;
  try {
    const seconds = await timeGpu(gpu, (batch) => {
      matmulWithTile(batch, a, b, out, { transposeB: s.transposeB }, tile);
    }, { reps: repsFor(flop, targetFlop), runs });
    return { gflops: flop / seconds / 1e9, tile };
  } finally {
    for (const t of [a, out]) t.buffer.destroy();
    destroyMatmulB(b);
  }
}

/** A measurement, or why the backend could not run (it is reported, not fatal). */
type OrtResult = { seconds: number } | { error: string };

/**
 * Seconds per A[M,K]·B[K,N] on onnxruntime-web (one wasm thread, or its WebGPU backend on the same
 * adapter), as a one-node MatMul model with B as an initializer. A session run hands A in and Y
 * back on the host, which for WebGPU is an upload and a readback (our own timing has neither).
 */
async function timeOrtMatmul(
  backend: OrtBackend,
  m: number,
  k: number,
  n: number,
  timing: TimingOptions,
): Promise<OrtResult> {
  try {
    const g = new OnnxGraphBuilder("matmul");
    const a = g.input("A", "float32", [m, k]);
    const b = new Float32Array(k * n).map((_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    g.output(g.node("MatMul", [a, g.floatTensor("B", b, [k, n])], {}, "Y"), "float32", [m, n]);
    const session = await createOrtSession(g.build({ producerName: "eeg-sae bench" }), backend);
    try {
      const input = { data: new Float32Array(m * k).fill(0.25), shape: [m, k] };
      const seconds = await timeAsync(async () => {
        await session.run({ A: input });
      }, timing);
      return { seconds };
    } finally {
      await session.release();
    }
  } catch (e) {
    return { error: (e as Error).message.split("\n")[0] };
  }
}

function gflopsOf(r: OrtResult | undefined, flop: number): number | null {
  return r && "seconds" in r ? round(flop / r.seconds / 1e9) : null;
}

export const matmulSection: BenchSection = {
  name: "matmul",
  async run(ctx: BenchContext): Promise<void> {
    const entries: MatmulBenchEntry[] = [];
    for (const s of MATMUL_BENCH_SHAPES) {
      const big = s.family === "sae";
      const flop = 2 * s.m * s.n * s.k;
      // Big shapes: one repetition per run and fewer runs; ORT WebGPU is skipped there in --quick.
      const runs = ctx.quick ? (big ? 1 : 3) : (big ? 3 : 5);
      const target = big ? 1 : ctx.quick ? 2e8 : 5e8;
      // The peak is measured again around each shape: on a shared machine the load drifts, and a
      // fraction of a peak measured minutes earlier would mostly measure the neighbours.
      const peakBefore = await measureFmaPeak(ctx.gpu, 2);
      const ours = await benchOurMatmul(ctx.gpu, s, runs, target, ctx.autotune);
      const nearbyPeak = (peakBefore + await measureFmaPeak(ctx.gpu, 2)) / 2;
      const ort: Partial<Record<OrtBackend, OrtResult>> = {};
      // onnxruntime-web has no texture/buffer choice: its rows are the `reve` ones.
      if (ctx.ort && s.family !== "reve-buffer") {
        for (const backend of ["wasm", "webgpu"] as const) {
          if (ctx.quick && big && backend === "webgpu") continue;
          ort[backend] = await timeOrtMatmul(backend, s.m, s.k, s.n, {
            reps: Math.max(1, Math.round(target / flop)),
            runs: big ? 1 : runs,
          });
        }
      }
      const wasm = gflopsOf(ort.wasm, flop);
      const webgpu = gflopsOf(ort.webgpu, flop);
      const entry: MatmulBenchEntry = {
        shape: s.name,
        m: s.m,
        k: s.k,
        n: s.n,
        tile: ours.tile,
        ours_gflops: round(ours.gflops),
        nearby_peak_gflops: round(nearbyPeak),
        ours_fraction_of_peak: round(ours.gflops / nearbyPeak),
        ort_wasm_gflops: wasm,
        ort_webgpu_gflops: webgpu,
        ours_vs_ort_wasm: wasm ? round(ours.gflops / wasm) : null,
        ours_vs_ort_webgpu: webgpu ? round(ours.gflops / webgpu) : null,
      };
      if (ort.wasm && "error" in ort.wasm) entry.ort_wasm_error = ort.wasm.error;
      if (ort.webgpu && "error" in ort.webgpu) entry.ort_webgpu_error = ort.webgpu.error;
      entries.push(entry);
      ctx.log(
        `  ${s.name}: ours ${entry.ours_gflops} GFLOP/s, ort wasm ${wasm ?? "-"}, ort webgpu ${
          webgpu ?? "-"
        }`,
      );
    }
    const reve = entries.filter((_, i) => MATMUL_BENCH_SHAPES[i].family === "reve");
    ctx.results.matmul = entries;
    ctx.results.matmul_fraction_of_peak = Math.min(...reve.map((e) => e.ours_fraction_of_peak));
    const cell = (x: number | null) => (x === null ? "-" : x.toFixed(2));
    ctx.log("");
    ctx.log(formatTable([
      [
        "matmul (GFLOP/s)",
        "ours",
        "tile",
        "peak",
        "ours/peak",
        "ort wasm",
        "ort webgpu",
        "ours/wasm",
        "ours/webgpu",
      ],
      ...entries.map((e) => [
        e.shape,
        e.ours_gflops.toFixed(2),
        `${e.tile.tm}x${e.tile.tn}/${e.tile.wg}`,
        e.nearby_peak_gflops.toFixed(1),
        `${(100 * e.ours_fraction_of_peak).toFixed(1)}%`,
        cell(e.ort_wasm_gflops),
        cell(e.ort_webgpu_gflops),
        cell(e.ours_vs_ort_wasm),
        cell(e.ours_vs_ort_webgpu),
      ]),
    ]));
    ctx.log(
      `peak = the FMA loop measured just before and after each shape. Worst REVE shape: ${
        (100 * (ctx.results.matmul_fraction_of_peak as number)).toFixed(1)
      }% of peak. ort wasm runs one thread; ort timings include host transfers of A and Y.`,
    );
    const errors = entries.flatMap((e) => [e.ort_wasm_error, e.ort_webgpu_error]).filter(Boolean);
    for (const e of new Set(errors)) ctx.log(`onnxruntime-web could not run: ${e}`);
  },
};
