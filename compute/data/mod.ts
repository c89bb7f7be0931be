/**
 * @module
 * EEG trials in, ready for REVE out: trial sources (the earlier Python pipeline's LMDB,
 * recordings in GDF 1.x/2.x, EDF/EDF+, BDF and BNCI MAT files, the synthetic BCIC2a-shaped
 * generator), preprocessing (resampling to 200 Hz,
 * band-pass, scaling, alignment, recorded in a `PreprocessingRecord`), electrode names and
 * positions, the LMDB writer, NPZ export and a deterministic RNG. Formats: docs/ARCHITECTURE.md,
 * "Data formats".
 *
 * Main exports: {@link openTrialSource} (an LMDB folder or recordings), {@link LmdbSource},
 * {@link openRecordings}, {@link convertRecordings}, {@link loadTrialSet}, {@link trialBatches}, {@link preprocessTrialSet},
 * {@link lookupPositions}, {@link writeTrialLmdb}, {@link writeSyntheticDataset},
 * {@link exportTrials}, {@link Rng}, and the shared types {@link TrialSource} and
 * {@link TrialSet}.
 *
 * ```ts
 * import { loadTrialSet, lookupPositions, openTrialSource, preprocessTrialSet } from "./mod.ts";
 *
 * const source = await openTrialSource({ dbPath: "data/bcic2a.lmdb" });
 * const set = preprocessTrialSet(await loadTrialSet(source), {
 *   sfreq: 200,
 *   bandpass: null,
 *   scaling: "zscore_clip15",
 *   euclideanAlignment: false,
 * });
 * const pos = lookupPositions(set.channels); // [C, 3] metres, for REVE
 * ```
 */
export { openTrialSource, type SourceSpec } from "./open_source.ts";
export { LmdbSource } from "./lmdb_source.ts";
export { detectFormat, openRecordings, readRecording } from "./recording_files.ts";
export { convertRecordings } from "./recording_lmdb.ts";
export {
  loadTrialSet,
  type PreprocessingRecord,
  type ScalingMode,
  type Split,
  subsetTrialSet,
  trialBatches,
  type TrialSet,
  type TrialSource,
} from "./trials.ts";
export {
  type PreprocessOptions,
  preprocessTrialSet,
  REVE_SFREQ,
  SCALING_MODES,
} from "./preprocess.ts";
export { BCIC2A_CHANNELS, BCIC2A_CLASS_NAMES, lookupPositions } from "./montage.ts";
export { writeTrialLmdb } from "./lmdb_writer.ts";
export { writeSyntheticDataset } from "./synthetic_dataset.ts";
export { exportTrials } from "./export.ts";
export { inspectSource } from "./inspect.ts";
export { Rng } from "./rng.ts";
