/**
 * @module
 * File formats, with no model or GPU knowledge: numpy's `.npy` and `.npz`, safetensors, MATLAB
 * level-5 MAT-files, Python pickles (the LMDB values of the earlier Python pipeline) and atomic
 * writes. Every reader names the file and what was wrong in its errors; every writer goes through
 * a temporary name and a rename, so an interrupted run never leaves half a file.
 *
 * Main exports: {@link readNpy}, {@link writeNpy}, {@link readNpz}, {@link writeNpz} (arrays as
 * {@link NdArray}, built with {@link f32} and friends), {@link readSafetensors},
 * {@link writeSafetensors}, {@link readMat}, {@link writeFileAtomic}, {@link writeJsonAtomic}.
 *
 * ```ts
 * import { f32, readNpy, writeNpy } from "./mod.ts";
 *
 * await writeNpy("x.npy", f32(new Float32Array([1, 2, 3, 4]), [2, 2]));
 * const x = await readNpy("x.npy"); // { dtype: "f4", shape: [2, 2], data: Float32Array }
 * ```
 */
export { writeFileAtomic, writeJsonAtomic } from "./atomic.ts";
export { asFloat32, f32, i32, i64, type NdArray, readNpy, str, writeNpy } from "./npy.ts";
export { readNpz, writeNpz } from "./npz.ts";
export {
  floatTensor,
  readSafetensors,
  type SafetensorsFile,
  type TensorToWrite,
  writeSafetensors,
} from "./safetensors.ts";
export { type MatFile, readMat } from "./mat.ts";
