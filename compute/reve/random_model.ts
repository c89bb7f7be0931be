/**
 * Random REVE models in the real layout (config.json + model.safetensors, every key and shape of
 * docs/ARCHITECTURE.md, "REVE"), deterministic from a seed: for benchmarks at reve-base widths and
 * for tests on configs the golden files do not cover.
 */
import { Rng } from "../data/rng.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { readSafetensorsMetadata, writeSafetensors } from "../io/safetensors.ts";
import type { ReveConfig } from "./config.ts";
import { toConfigJson } from "./config.ts";
import { expectedWeightShapes, type HostTensor } from "./weights.ts";

const PATCH_EMBEDDING_KEY = "to_patch_embedding.0.weight";
const POSITION_MLP_KEY = "mlp4d.0.weight";

/**
 * How the patch embedding (`to_patch_embedding.0.weight`, [D, patch_size]) is drawn:
 * - `uniform`: like every other Linear (PyTorch's default), a flat random filter per row;
 * - `fourier`: each row a Hann-windowed sinusoid at a random frequency and random phase, a random
 *   filter bank like the band-pass filters a real EEG encoder's first layer learns, so a token's
 *   magnitude along a row carries the signal's power near that row's frequency. Still untrained.
 */
export type PatchEmbeddingInit = "uniform" | "fourier";

export interface RandomReveOptions {
  patchEmbedding: PatchEmbeddingInit;
  /** Frequency range of the `fourier` rows in Hz (the EEG bands of interest lie inside). */
  fourierHz: [number, number];
  /** Sampling rate the model sees, to turn Hz into cycles per sample. */
  sfreq: number;
  /**
   * When set, the x, y, z columns of `mlp4d.0.weight` (the 4D position MLP, whose inputs are
   * electrode coordinates in metres and the patch index) are drawn uniform in ±1/(√4·scale)
   * instead of ±1/√4: at PyTorch's unit scale, electrodes centimetres apart get near-identical
   * position codes, which a trained model would have learned to tell apart. A length in metres,
   * on the scale of the 10-20 grid's electrode spacing.
   */
  electrodeScaleM: number | null;
}

export const RANDOM_REVE_DEFAULTS: RandomReveOptions = {
  patchEmbedding: "uniform",
  fourierHz: [2, 40],
  sfreq: 200,
  electrodeScaleM: null,
};

/**
 * Rows `sqrt(8/3 · 2/P) · hann(t) · cos(2π f t + φ)`, f uniform in `fourierHz`, φ uniform in
 * [0, 2π): unit energy per row, like the ±1/√P uniform rows up to a constant.
 */
function fourierPatchRows(
  rows: number,
  patchSize: number,
  o: RandomReveOptions,
  rng: Rng,
): Float32Array<ArrayBuffer> {
  const data = new Float32Array(rows * patchSize);
  const scale = Math.sqrt((8 / 3) * (2 / patchSize));
  for (let r = 0; r < rows; r++) {
    const hz = rng.uniform(o.fourierHz[0], o.fourierHz[1]);
    const phase = rng.uniform(0, 2 * Math.PI);
    for (let j = 0; j < patchSize; j++) {
      const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * j) / (patchSize - 1));
      data[r * patchSize + j] = scale * hann * Math.cos((2 * Math.PI * hz * j) / o.sfreq + phase);
    }
  }
  return data;
}

/**
 * Weights drawn like PyTorch's defaults: Linear weights uniform in ±1/√fan_in, norm weights
 * around 1, biases and the cls query small. Activations then stay O(1) through many blocks.
 * The patch embedding follows `options.patchEmbedding`, the position MLP `options.electrodeScaleM`.
 */
export function randomReveWeights(
  cfg: ReveConfig,
  seed: number,
  options: Partial<RandomReveOptions> = {},
): Map<string, HostTensor> {
  const o = { ...RANDOM_REVE_DEFAULTS, ...options };
  const rng = new Rng(seed);
  const out = new Map<string, HostTensor>();
  for (const [key, shape] of expectedWeightShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormWeight = shape.length === 1 && key.endsWith("weight");
    if (key === PATCH_EMBEDDING_KEY && o.patchEmbedding === "fourier") {
      out.set(key, { shape, data: fourierPatchRows(shape[0], shape[1], o, rng) });
      continue;
    }
    if (key === POSITION_MLP_KEY && o.electrodeScaleM !== null) {
      const bound = 1 / Math.sqrt(shape[1]);
      for (let i = 0; i < data.length; i++) {
        const spatial = i % shape[1] < 3;
        data[i] = rng.uniform(-bound, bound) / (spatial ? o.electrodeScaleM : 1);
      }
    } else if (isNormWeight) {
      for (let i = 0; i < data.length; i++) data[i] = 1 + rng.uniform(-0.1, 0.1);
    } else if (shape.length === 2) {
      const bound = 1 / Math.sqrt(shape[1]);
      for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-bound, bound);
    } else {
      for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-0.1, 0.1);
    }
    out.set(key, { shape, data });
  }
  return out;
}

/** `__metadata__.source` of the weights this module writes, so later stages can say they are random. */
export const RANDOM_MODEL_SOURCE = "eeg-sae random REVE";

/** Whether a model folder holds weights written by `writeRandomReveModel` (not pretrained ones). */
export async function isRandomReveModel(dir: string): Promise<boolean> {
  const meta = await readSafetensorsMetadata(`${dir}/model.safetensors`);
  return (meta.source ?? "").startsWith(RANDOM_MODEL_SOURCE);
}

/** Writes `dir/config.json` and `dir/model.safetensors` for a random model; returns the weights. */
export async function writeRandomReveModel(
  dir: string,
  cfg: ReveConfig,
  seed: number,
  options: Partial<RandomReveOptions> = {},
): Promise<Map<string, HostTensor>> {
  const o = { ...RANDOM_REVE_DEFAULTS, ...options };
  const weights = randomReveWeights(cfg, seed, o);
  await writeJsonAtomic(`${dir}/config.json`, { ...toConfigJson(cfg), model_type: "reve" });
  await writeSafetensors(`${dir}/model.safetensors`, Object.fromEntries(weights), {
    format: "pt",
    source: `${RANDOM_MODEL_SOURCE}, seed ${seed}` +
      (o.patchEmbedding === "fourier"
        ? `, patch embedding: random Hann-windowed sinusoids ${o.fourierHz[0]}–${o.fourierHz[1]} Hz`
        : "") +
      (o.electrodeScaleM !== null ? `, position weights per ${o.electrodeScaleM} m` : ""),
  });
  return weights;
}
