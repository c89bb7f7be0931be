/**
 * @module
 * The sparse autoencoder and its training on WebGPU (definitions: docs/ARCHITECTURE.md, "SAE"):
 * the configuration with the earlier Python pipeline's defaults, initialisation (geometric-median
 * `b_dec`), the shuffled activation store over `.npy` files or shard folders, the GPU step
 * (ReLU with ghost grads, TopK and BatchTopK with AuxK, JumpReLU; Adam), the training loop with
 * metrics, atomic checkpoints and exact resume, and SAELens-compatible checkpoints.
 *
 * Main exports: {@link defaultSaeConfig}, {@link openActivationFiles}, {@link trainSae},
 * {@link loadSae}, {@link loadTrainState}, {@link SaeGpu}, {@link plantedDictionary} (known
 * features to check recovery), {@link geometricMedian}.
 *
 * ```ts
 * import { defaultSaeConfig, openActivationFiles, trainSae } from "./mod.ts";
 *
 * const cfg = defaultSaeConfig(512, { architecture: "topk", k: 32, totalTrainingTokens: 1e6 });
 * const source = await openActivationFiles(
 *   "runs/x/activations",
 *   cfg.trainBatchSizeTokens,
 *   cfg.nBatchesInBuffer,
 *   cfg.seed,
 * );
 * const summary = await trainSae(cfg, source, { out: "runs/x", progress: true });
 * ```
 */
export {
  type ActivationSource,
  openActivationFiles,
  ShuffledActivationStore,
} from "./activation_store.ts";
export {
  defaultSaeConfig,
  dSaeOf,
  type SaeArchitecture,
  type SaeTrainConfig,
  validateSaeConfig,
} from "./config.ts";
export { geometricMedian, initSaeWeights } from "./init.ts";
export { SaeGpu, type SaeWeights } from "./sae.ts";
export { type TrainOptions, trainSae, type TrainSummary } from "./trainer.ts";
export { loadSae, loadTrainState, saveCheckpoint } from "./checkpoint.ts";
export { plantedDictionary, recoveryScore } from "./planted.ts";
