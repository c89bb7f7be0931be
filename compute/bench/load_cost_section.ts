/**
 * Bench section: what one vec4 load inside a loop costs, by source (storage buffer, texture,
 * uniform buffer, workgroup memory) and by whether all lanes read one address or one each. On
 * llvmpipe these costs, not arithmetic, bound the matmul; they are why REVE's weights live in
 * textures (BENCHMARKS.md). JSON key: `load_cost` (nanoseconds per invocation and load, the loop
 * alone subtracted, and that relative to a storage-buffer load).
 */
import { type Binding, createTensor, type Gpu } from "../gpu/mod.ts";
import type { BenchContext, BenchSection } from "./bench_section.ts";
import { formatTable, round } from "./format.ts";
import { timeGpu } from "./timing.ts";

const ITERS = 1024;
const WG = 64;
const GROUPS = 256;
/** vec4 elements in every source (a power of two, within a 64 KiB uniform buffer). */
const ELEMS = 4096;

type Source = "none" | "storage" | "texture" | "uniform" | "workgroup";

interface Variant {
  source: Source;
  /** One address per lane (else the same address for all lanes). */
  perLane: boolean;
}

const VARIANTS: readonly Variant[] = [
  { source: "none", perLane: false },
  ...(["storage", "texture", "uniform", "workgroup"] as const).flatMap((source) => [
    { source, perLane: true },
    { source, perLane: false },
  ]),
];

/** The header for one variant: the source's declaration and `load_at`. */
function header(v: Variant): string {
  const lane = v.perLane ? " + lane" : "";
  const index = `(base + k * ${WG}u${lane}) & ${ELEMS - 1}u`;
  const decl: Record<Source, string> = {
    none: "",
    storage: "@group(0) @binding(1) var<storage, read> src: array<vec4<f32>>;",
    texture: "@group(0) @binding(1) var src: texture_2d<f32>;",
    uniform: `@group(0) @binding(1) var<uniform> src: array<vec4<f32>, ${ELEMS}>;`,
    workgroup: `var<workgroup> src: array<vec4<f32>, ${ELEMS}>;`,
  };
  const side = Math.sqrt(ELEMS);
  const body: Record<Source, string> = {
    none: "vec4<f32>(f32(k))",
    storage: `src[${index}]`,
    texture: `textureLoad(src, vec2<u32>((k${lane}) % ${side}u, base % ${side}u), 0)`,
    uniform: `src[${index}]`,
    workgroup: `src[${index}]`,
  };
  return [
    `const ITERS: u32 = ${ITERS}u;`,
    decl[v.source],
    `fn load_at(k: u32, base: u32, lane: u32) -> vec4<f32> { return ${body[v.source]}; }`,
  ].join("\n");
}

export interface LoadCostEntry {
  source: Source;
  per_lane_address: boolean;
  /** Nanoseconds per invocation and loop trip, the loop with no load subtracted. */
  ns_per_load: number;
  /** ns_per_load over the storage buffer's with one address per lane. */
  relative_to_storage: number;
}

/** Seconds per invocation-load of each variant (no subtraction). */
async function timeVariants(gpu: Gpu, runs: number): Promise<number[]> {
  const sink = createTensor(gpu, [WG * GROUPS, 4], "f32", "load cost sink");
  const storage = createTensor(gpu, [ELEMS, 4], "f32", "load cost storage");
  const uniform = gpu.device.createBuffer({ size: ELEMS * 16, usage: GPUBufferUsage.UNIFORM });
  const side = Math.sqrt(ELEMS);
  const texture = gpu.device.createTexture({
    size: [side, side],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING,
  });
  const view = texture.createView();
  try {
    const seconds: number[] = [];
    for (const v of VARIANTS) {
      const source: Record<Source, Binding | undefined> = {
        none: undefined,
        storage,
        texture: view,
        uniform,
        workgroup: undefined,
      };
      const src = source[v.source];
      const t = await timeGpu(gpu, (batch) => {
        batch.dispatch({
          shader: "load_cost.wgsl",
          header: header(v),
          bindings: src ? { sink, src } : { sink },
          workgroups: [GROUPS],
          label: `load cost ${v.source}${v.perLane ? " per lane" : ""}`,
        });
      }, { reps: 1, runs });
      seconds.push(t / (WG * GROUPS * ITERS));
    }
    return seconds;
  } finally {
    sink.buffer.destroy();
    storage.buffer.destroy();
    uniform.destroy();
    texture.destroy();
  }
}

export const loadCostSection: BenchSection = {
  name: "load cost",
  async run(ctx: BenchContext): Promise<void> {
    const seconds = await timeVariants(ctx.gpu, ctx.quick ? 3 : 5);
    const loop = seconds[0];
    const storage = seconds[VARIANTS.findIndex((v) => v.source === "storage" && v.perLane)] - loop;
    const entries: LoadCostEntry[] = VARIANTS.slice(1).map((v, i) => {
      const extra = seconds[i + 1] - loop;
      return {
        source: v.source,
        per_lane_address: v.perLane,
        ns_per_load: round(extra * 1e9, 4),
        relative_to_storage: round(extra / storage),
      };
    });
    ctx.results.load_cost = { loop_ns_per_trip: round(loop * 1e9, 4), loads: entries };
    ctx.log(formatTable([
      ["vec4 load in a loop", "address", "ns per invocation", "vs storage"],
      ...entries.map((e) => [
        e.source,
        e.per_lane_address ? "one per lane" : "one for all",
        e.ns_per_load.toFixed(3),
        e.relative_to_storage.toFixed(2),
      ]),
    ]));
    ctx.log(
      `the loop itself (an FMA per trip, no load): ${(loop * 1e9).toFixed(3)} ns per invocation ` +
        "and trip, subtracted above; all invocations of the adapter run at once, so these are " +
        "throughput costs, not latencies",
    );
  },
};
