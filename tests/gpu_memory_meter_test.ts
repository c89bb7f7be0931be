/**
 * The benchmark's GPU memory meter counts buffers and rgba32float textures from creation until
 * destroy, and keeps the peak.
 */
import assert from "node:assert/strict";
import { createMatrixTexture, getGpu } from "../compute/gpu/mod.ts";
import { GpuMemoryMeter } from "../compute/bench/gpu_memory.ts";

Deno.test("the memory meter counts live buffers and textures and keeps their peak", async () => {
  const gpu = await getGpu();
  const meter = new GpuMemoryMeter(gpu.device);
  try {
    const start = meter.liveBytes;
    const buffer = gpu.device.createBuffer({ size: 4096, usage: GPUBufferUsage.STORAGE });
    assert.equal(meter.liveBytes - start, 4096);
    // 6 rows × 8 columns of f32: 48 values, 192 bytes.
    const texture = createMatrixTexture(gpu, 6, 8, new Float32Array(48), "meter test");
    assert.equal(meter.liveBytes - start, 4096 + 192);
    buffer.destroy();
    buffer.destroy(); // a second destroy must not count twice
    assert.equal(meter.liveBytes - start, 192);
    texture.destroy();
    assert.equal(meter.liveBytes, start);
    assert.equal(meter.peakBytes - start, 4096 + 192);
    meter.resetPeak();
    assert.equal(meter.peakBytes, meter.liveBytes);
  } finally {
    meter.dispose();
  }
  const after = gpu.device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE });
  assert.equal(meter.liveBytes, 0, "a disposed meter counts nothing");
  after.destroy();
});
