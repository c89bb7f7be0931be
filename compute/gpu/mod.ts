/** The WebGPU runtime: device, tensors, buffer pool, pipelines, batched dispatch, readback. */
export * from "./device.ts";
export * from "./tensor.ts";
export * from "./matrix_texture.ts";
export * from "./buffer_pool.ts";
export * from "./pipeline_cache.ts";
export * from "./command_batch.ts";
export * from "./grid.ts";
