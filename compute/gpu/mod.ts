/**
 * @module
 * The WebGPU runtime every kernel runs on: the adapter and device (acquired once per process),
 * tensors (a buffer with a shape and an element type), constant matrices held in textures, a
 * buffer pool, compiled-pipeline caching, and the command batch that records many dispatches and
 * submits them at once, reporting a failing dispatch by its kernel label and shapes.
 *
 * Main exports: {@link getGpu}, {@link createTensor}, {@link upload}, {@link readback},
 * {@link CommandBatch}, {@link BufferPool}, {@link createMatrixTexture}, {@link describeAdapter}.
 *
 * ```ts
 * import { createTensor, getGpu, readback, upload } from "./mod.ts";
 *
 * const gpu = await getGpu(); // throws one readable sentence when no adapter exists
 * const x = createTensor(gpu, [2, 2], "f32", "x");
 * upload(gpu, x, new Float32Array([1, 2, 3, 4]));
 * // Kernels (kernels/) record dispatches on x into a CommandBatch, then `await batch.submit()`.
 * console.log(await readback(gpu, x)); // Float32Array [1, 2, 3, 4]
 * x.buffer.destroy();
 * ```
 */
export * from "./device.ts";
export * from "./tensor.ts";
export * from "./matrix_texture.ts";
export * from "./buffer_pool.ts";
export * from "./pipeline_cache.ts";
export * from "./command_batch.ts";
export * from "./grid.ts";
