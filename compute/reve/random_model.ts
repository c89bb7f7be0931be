/**
 * Random REVE models in the real layout (config.json + model.safetensors, every key and shape of
 * DESIGN.md §3), deterministic from a seed: for benchmarks at reve-base widths and for tests on
 * configs the golden files do not cover.
 */
import { Rng } from "../data/rng.ts";
import { writeJsonAtomic } from "../io/atomic.ts";
import { readSafetensorsMetadata, writeSafetensors } from "../io/safetensors.ts";
import type { ReveConfig } from "./config.ts";
import { toConfigJson } from "./config.ts";
import { expectedWeightShapes, type HostTensor } from "./weights.ts";

/**
 * Weights drawn like PyTorch's defaults: Linear weights uniform in ±1/√fan_in, norm weights
 * around 1, biases and the cls query small. Activations then stay O(1) through many blocks.
 */
export function randomReveWeights(cfg: ReveConfig, seed: number): Map<string, HostTensor> {
  const rng = new Rng(seed);
  const out = new Map<string, HostTensor>();
  for (const [key, shape] of expectedWeightShapes(cfg)) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const isNormWeight = shape.length === 1 && key.endsWith("weight");
    if (isNormWeight) {
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
): Promise<Map<string, HostTensor>> {
  const weights = randomReveWeights(cfg, seed);
  await writeJsonAtomic(`${dir}/config.json`, { ...toConfigJson(cfg), model_type: "reve" });
  await writeSafetensors(`${dir}/model.safetensors`, Object.fromEntries(weights), {
    format: "pt",
    source: `${RANDOM_MODEL_SOURCE}, seed ${seed}`,
  });
  return weights;
}
