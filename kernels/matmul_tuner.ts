/**
 * A small matmul autotuner: times a few tile candidates once per (adapter vendor, architecture and
 * device, load variant, size bucket), keeps the fastest in memory and in
 * `~/.cache/eeg-sae/matmul_tiles.json`, and hands it to `matmul` while enabled. Off by default: the
 * fixed heuristic is used then.
 */
import { CommandBatch, createMatrixTexture, createTensor, type Gpu } from "../compute/gpu/mod.ts";
import { writeJsonAtomic } from "../compute/io/atomic.ts";
import {
  destroyMatmulB,
  heuristicMatmulTile,
  type MatmulShape,
  type MatmulTile,
  matmulVariant,
  matmulWithTile,
  setMatmulTileChooser,
  SHARED_MATMUL_TILE,
  sharedTileApplies,
} from "./matmul.ts";

/** Tiles worth trying; the heuristic's own choice is always added. */
export const MATMUL_TILE_CANDIDATES: readonly MatmulTile[] = [
  { tm: 16, tn: 16, wg: 8 },
  { tm: 11, tn: 16, wg: 8 },
  { tm: 11, tn: 24, wg: 8 },
  { tm: 22, tn: 16, wg: 8 },
  { tm: 16, tn: 16, wg: 16 },
  { tm: 8, tn: 16, wg: 16 },
  { tm: 8, tn: 8, wg: 8 },
  { tm: 4, tn: 16, wg: 8 },
  // Shapes for a hardware GPU: many small tiles in flight.
  { tm: 4, tn: 4, wg: 64 },
  { tm: 2, tn: 4, wg: 128 },
  { tm: 8, tn: 8, wg: 64 },
  SHARED_MATMUL_TILE,
];

export interface AutotuneOptions {
  /** Where choices persist; default `$HOME/.cache/eeg-sae/matmul_tiles.json`. */
  cacheFile?: string;
}

const choices = new Map<string, MatmulTile>();
const pending = new Map<string, MatmulShape>();
let cacheFile: string | undefined;

function defaultCacheFile(): string | undefined {
  const home = Deno.env.get("HOME");
  return home ? `${home}/.cache/eeg-sae/matmul_tiles.json` : undefined;
}

/** Next power of two: shapes in one bucket share a choice. */
function bucket(x: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, x)));
}

/** The cache key: adapter (vendor, architecture, device), load variant and size buckets. */
export function matmulTuneKey(gpu: Gpu, shape: MatmulShape): string {
  const b = shape.batch > 1 ? ` b${bucket(shape.batch)}` : "";
  const { vendor, architecture, description } = gpu.adapter;
  return `${vendor}/${architecture}/${description}|${matmulVariant(shape)}${
    shape.transposeB ? "ᵀ" : ""
  } ` +
    `m${bucket(shape.m)} n${bucket(shape.n)} k${bucket(shape.k)}${b}`;
}

/**
 * Turns autotuning on (loading earlier choices from the cache file, if readable) or off. While on,
 * `matmul` uses a tuned tile where one exists and notes the shape for `tunePendingMatmuls`.
 */
export async function setMatmulAutotune(
  enabled: boolean,
  opts: AutotuneOptions = {},
): Promise<void> {
  if (!enabled) {
    setMatmulTileChooser(undefined);
    return;
  }
  cacheFile = opts.cacheFile ?? defaultCacheFile();
  if (cacheFile) {
    try {
      const saved = JSON.parse(await Deno.readTextFile(cacheFile)) as Record<string, MatmulTile>;
      for (const [key, tile] of Object.entries(saved)) {
        if (isTile(tile)) choices.set(key, tile);
      }
    } catch {
      // No cache yet, or unreadable: tune afresh.
    }
  }
  setMatmulTileChooser((gpu, shape) => {
    const key = matmulTuneKey(gpu, shape);
    const tile = choices.get(key);
    if (!tile) pending.set(key, shape);
    return tile;
  });
}

function isTile(t: unknown): t is MatmulTile {
  const x = t as MatmulTile;
  return typeof x === "object" && x !== null && Number.isInteger(x.tm) && x.tm >= 1 &&
    Number.isInteger(x.tn) && x.tn >= 4 && x.tn % 4 === 0 && Number.isInteger(x.wg) && x.wg >= 1 &&
    (x.shared === undefined || typeof x.shared === "boolean");
}

/** Seconds per matmul of `shape` with `tile`: a warm-up, then `reps` dispatches in one submit. */
export async function timeMatmulTile(
  gpu: Gpu,
  shape: MatmulShape,
  tile: MatmulTile,
  reps: number,
): Promise<number> {
  const lead = shape.batch > 1 ? [shape.batch] : [];
  const a = createTensor(gpu, [...lead, shape.m, shape.k], "f32", "tune a");
  const b = shape.textureB
    ? createMatrixTexture(gpu, shape.n, shape.k, new Float32Array(shape.n * shape.k), "tune b")
    : createTensor(
      gpu,
      shape.transposeB ? [shape.n, shape.k] : [shape.k, shape.n],
      "f32",
      "tune b",
    );
  const out = createTensor(gpu, [...lead, shape.m, shape.n], "f32", "tune out");
  const run = async (count: number) => {
    const batch = new CommandBatch(gpu, "matmul tuning");
    for (let i = 0; i < count; i++) {
      matmulWithTile(batch, a, b, out, { transposeB: shape.transposeB }, tile);
    }
    await batch.submit();
    await gpu.device.queue.onSubmittedWorkDone();
  };
  try {
    await run(1);
    const t0 = performance.now();
    await run(reps);
    return (performance.now() - t0) / 1000 / reps;
  } finally {
    for (const t of [a, out]) t.buffer.destroy();
    destroyMatmulB(b);
  }
}

/** Times the candidates for one shape (once per bucket), remembers and persists the fastest. */
export async function tuneMatmul(gpu: Gpu, shape: MatmulShape): Promise<MatmulTile> {
  const key = matmulTuneKey(gpu, shape);
  const known = choices.get(key);
  if (known) return known;
  const heuristic = heuristicMatmulTile(shape, gpu.adapter.isFallbackAdapter);
  const max = gpu.limits.maxComputeWorkgroupsPerDimension;
  const candidates = [heuristic, ...MATMUL_TILE_CANDIDATES].filter((t, i, all) =>
    (t.shared ? sharedTileApplies(shape, "none", max) : t.tm <= Math.max(shape.m, 1)) &&
    all.findIndex((u) =>
        u.tm === t.tm && u.tn === t.tn && u.wg === t.wg && Boolean(u.shared) === Boolean(t.shared)
      ) === i
  );
  // Rows only repeat the same tile work, so candidates are timed on at most 256 of them, about
  // 0.2 GFLOP per candidate: seconds of tuning on a software adapter even for SAE-sized shapes.
  const probe = { ...shape, m: Math.min(shape.m, 256) };
  const flop = 2 * probe.m * probe.n * probe.k * probe.batch;
  const reps = Math.max(1, Math.min(64, Math.round(2e8 / flop)));
  // Two interleaved passes, best of each: a burst of load elsewhere rarely hits one candidate twice.
  const seconds = candidates.map(() => Infinity);
  for (let pass = 0; pass < 2; pass++) {
    for (const [i, tile] of candidates.entries()) {
      seconds[i] = Math.min(seconds[i], await timeMatmulTile(gpu, probe, tile, reps));
    }
  }
  const best = candidates[seconds.indexOf(Math.min(...seconds))];
  choices.set(key, best);
  pending.delete(key);
  await persist();
  return best;
}

/** Tunes every shape `matmul` met without a tuned tile since autotuning was enabled. */
export async function tunePendingMatmuls(gpu: Gpu): Promise<void> {
  for (const shape of [...pending.values()]) await tuneMatmul(gpu, shape);
}

async function persist(): Promise<void> {
  if (!cacheFile) return;
  try {
    await writeJsonAtomic(cacheFile, Object.fromEntries(choices));
  } catch {
    // A read-only home must not stop the computation; the choice stays in memory.
  }
}
