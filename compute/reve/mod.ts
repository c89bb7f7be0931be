/**
 * @module
 * REVE, the EEG transformer encoder, computed exactly as its reference implementation does
 * (docs/ARCHITECTURE.md, "REVE"): the HuggingFace-layout config and weights read by exact key and
 * shape, the WebGPU forward built from our kernels, every hook point by name, extraction to NPZ or
 * to activation shards over a dataset, a float64 CPU reference forward, random models in the real
 * layout, and the same forward as an ONNX graph.
 *
 * Main exports: {@link loadReve} and {@link ReveModel} (`forward` to host arrays, `forwardGpu` to
 * tensors left on the GPU), {@link hookName}, {@link HOOK_POINTS}, {@link extractDataset},
 * {@link extractNpz}, {@link readActivationIndex}, {@link readReveConfig},
 * {@link writeRandomReveModel}, {@link reveReferenceForward}, {@link exportReveOnnx}.
 *
 * ```ts
 * import { BCIC2A_CHANNELS, lookupPositions } from "../data/mod.ts";
 * import { hookName, loadReve } from "./mod.ts";
 *
 * const model = await loadReve("reve-base"); // config.json + model.safetensors
 * const eeg = new Float32Array(22 * 800); // one trial [1, 22, 800] at 200 Hz
 * const pos = new Float32Array(lookupPositions([...BCIC2A_CHANNELS])); // [22, 3] metres
 * const out = await model.forward(
 *   { eeg, batch: 1, channels: 22, samples: 800, pos },
 *   { outputs: [hookName(-2, "hook_resid_post"), "final"] },
 * );
 * model.dispose();
 * ```
 */
export { loadReve, ReveModel } from "./model.ts";
export { allHookNames, HOOK_POINTS, hookName, type HookPoint, parseOutputName } from "./hooks.ts";
export { type ReveInput } from "./input.ts";
export { readReveConfig, REVE_BASE_CONFIG, type ReveConfig } from "./config.ts";
export { readReveWeights } from "./weights.ts";
export { extractDataset } from "./extract_dataset.ts";
export { extractNpz } from "./extract.ts";
export {
  type ActivationIndex,
  readActivationIndex,
  readActivationShard,
} from "./activation_shards.ts";
export { writeRandomReveModel } from "./random_model.ts";
export { reveReferenceForward } from "./reference.ts";
export { exportReveOnnx } from "./onnx_export.ts";
