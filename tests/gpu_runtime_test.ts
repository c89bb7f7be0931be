/**
 * The WebGPU runtime: tensors, the buffer pool, batched dispatch with errors that name the kernel,
 * readback, and the one-sentence failure when no adapter exists.
 */
import assert from "node:assert/strict";
import { ADAPTER_CHOICES, adapterChoice, GpuConfigError } from "../compute/gpu/device.ts";
import {
  BufferPool,
  CommandBatch,
  createTensor,
  getGpu,
  KernelError,
  readback,
  ShapeError,
  uniformFields,
} from "../compute/gpu/mod.ts";
import { add } from "../kernels/elementwise.ts";

Deno.test("gpu: the adapter reports its limits and whether it is a fallback", async () => {
  const gpu = await getGpu();
  assert.ok(gpu.limits.maxStorageBufferBindingSize >= 128 << 20);
  assert.equal(typeof gpu.adapter.isFallbackAdapter, "boolean");
  assert.ok(gpu.adapter.description.length > 0);
});

Deno.test("gpu: many dispatches in one submit, then one readback", async () => {
  const gpu = await getGpu();
  const n = 37;
  const a = createTensor(gpu, [n], "f32", "a", Float32Array.from({ length: n }, (_, i) => i));
  const b = createTensor(gpu, [n], "f32", "b", Float32Array.from({ length: n }, () => 0.5));
  const pool = new BufferPool(gpu);
  const x = pool.acquire([n], "f32", "x");
  const y = pool.acquire([n], "f32", "y");
  const batch = new CommandBatch(gpu, "chain");
  add(batch, a, b, x);
  add(batch, x, b, y);
  add(batch, y, a, x);
  assert.equal(batch.dispatchCount, 3);
  await batch.submit();
  const got = await readback(gpu, x);
  assert.deepEqual(Array.from(got), Array.from({ length: n }, (_, i) => 2 * i + 1));
});

Deno.test("gpu: the pool reuses released buffers of the same size class", async () => {
  const gpu = await getGpu();
  const pool = new BufferPool(gpu);
  const t = pool.acquire([1000], "f32", "t");
  const before = pool.allocatedBytes;
  pool.release(t);
  const u = pool.acquire([990], "f32", "u");
  assert.equal(u.buffer, t.buffer);
  assert.equal(pool.allocatedBytes, before);
  const v = pool.acquire([1000], "f32", "v");
  assert.notEqual(v.buffer, u.buffer);
  assert.equal(pool.peakBytes, pool.allocatedBytes);
});

Deno.test("gpu: shape errors and validation errors name the kernel and shapes", async () => {
  const gpu = await getGpu();
  const a = createTensor(gpu, [8], "f32", "a");
  const b = createTensor(gpu, [9], "f32", "b");
  assert.throws(() => a.reshape([3, 3]), ShapeError);
  const batch = new CommandBatch(gpu);
  assert.throws(() => add(batch, a, b, a), ShapeError);
  // Binding one buffer read-only and writable in one dispatch is a validation error, which the
  // runtime reports with the dispatch's label.
  const bad = new CommandBatch(gpu, "bad");
  bad.dispatch({
    shader: "elementwise.wgsl",
    entryPoint: "add_main",
    bindings: { lhs: a, rhs: a, out: a, params: uniformFields({ count: 8, s: 0 }) },
    workgroups: [1],
    label: "add a[8] aliased",
  });
  await assert.rejects(() => bad.submit(), (e: Error) => {
    assert.ok(e instanceof KernelError);
    assert.match(e.message, /add a\[8\] aliased/);
    return true;
  });
});

Deno.test("gpu: with no adapter a command prints one sentence on how to get one and fails", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "compute/cli/demo.ts", "--out", `${await Deno.makeTempDir()}/demo`],
    cwd: new URL("..", import.meta.url).pathname,
    // A backend this machine cannot have leaves navigator.gpu without an adapter.
    env: { DENO_WEBGPU_BACKEND: "metal" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 1);
  assert.match(stderr, /No WebGPU adapter found\. .*apt-get install mesa-vulkan-drivers/);
});

Deno.test("gpu: EEG_SAE_ADAPTER names one of the adapter choices, else an error naming it", () => {
  assert.equal(adapterChoice(undefined), "high-performance");
  for (const c of ADAPTER_CHOICES) assert.equal(adapterChoice(c), c);
  assert.throws(() => adapterChoice("cuda"), (e: Error) => {
    assert.ok(e instanceof GpuConfigError);
    assert.match(e.message, /EEG_SAE_ADAPTER \(or --adapter\) must be one of .*got "cuda"/);
    return true;
  });
});

Deno.test("gpu: EEG_SAE_ADAPTER=fallback asks for the software adapter", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--unstable-webgpu",
      `import { getGpu } from "./compute/gpu/device.ts";
       const gpu = await getGpu();
       console.log(JSON.stringify(gpu.adapter));`,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    env: { EEG_SAE_ADAPTER: "fallback" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const adapter = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(adapter.isFallbackAdapter, true);
});

Deno.test("gpu: a command's --adapter reaches the adapter request", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "compute/cli/demo.ts",
      "--adapter",
      "fallback",
      "--out",
      `${await Deno.makeTempDir()}/demo`,
    ],
    cwd: new URL("..", import.meta.url).pathname,
    env: { DENO_WEBGPU_BACKEND: "metal" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /No WebGPU adapter found \(no fallback adapter\)/,
  );
});
