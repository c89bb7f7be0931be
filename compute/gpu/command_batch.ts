/**
 * Records many dispatches into one command encoder and submits them together: each submit or
 * readback costs ~10 ms in Deno, so whole steps are encoded at once. Validation and out-of-memory
 * errors are captured per dispatch and reported with the kernel's label and shapes.
 */
import type { Gpu } from "./device.ts";
import { getPipeline, pendingCompileErrors, type PipelineSpec } from "./pipeline_cache.ts";
import type { Tensor } from "./tensor.ts";
import { EegSaeError } from "../util/errors.ts";

export class KernelError extends EegSaeError {}

/** A buffer binding: a whole tensor, a raw buffer, or a range of one. */
export type BufferBinding = Tensor | GPUBuffer | {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
};

/** A binding: a buffer (see BufferBinding) or a texture view. */
export type Binding = BufferBinding | GPUTextureView;

export interface Dispatch extends PipelineSpec {
  /** Bindings in @binding order of @group(0). */
  bindings: Binding[];
  /** Workgroup counts. */
  workgroups: [number, number?, number?];
  /** Kernel name and shapes for error messages, e.g. "matmul a[88,512] b[1536,512]". */
  label: string;
}

interface Check {
  label: string;
  errors: Promise<(GPUError | null)[]>;
  compile?: Promise<string | null>;
}

export class CommandBatch {
  #encoder: GPUCommandEncoder;
  #pass: GPUComputePassEncoder | null = null;
  #checks: Check[] = [];
  #uniforms: GPUBuffer[] = [];
  #count = 0;

  constructor(readonly gpu: Gpu, readonly label = "batch") {
    this.#encoder = gpu.device.createCommandEncoder({ label });
  }

  get dispatchCount(): number {
    return this.#count;
  }

  /** A small uniform buffer holding u32/i32/f32 values (by the given typed array), freed after submit. */
  uniform(data: Uint32Array | Float32Array | Int32Array | ArrayBuffer): GPUBuffer {
    const bytes = data instanceof ArrayBuffer ? data : new Uint8Array(
      data.buffer,
      data.byteOffset,
      data.byteLength,
    ).slice().buffer;
    const size = Math.max(16, Math.ceil(bytes.byteLength / 16) * 16);
    const buffer = this.gpu.device.createBuffer({
      size,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.gpu.device.queue.writeBuffer(buffer, 0, bytes);
    this.#uniforms.push(buffer);
    return buffer;
  }

  dispatch(d: Dispatch): void {
    const [x, y = 1, z = 1] = d.workgroups;
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    if (x > max || y > max || z > max || x < 1 || y < 1 || z < 1) {
      throw new KernelError(
        `${d.label}: workgroup grid [${x},${y},${z}] is outside 1..${max} per dimension`,
      );
    }
    const device = this.gpu.device;
    const pipeline = getPipeline(this.gpu, d);
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const bindGroup = device.createBindGroup({
      label: d.label,
      layout: pipeline.getBindGroupLayout(0),
      entries: d.bindings.map((b, i) => ({ binding: i, resource: toResource(b) })),
    });
    this.#pass ??= this.#encoder.beginComputePass({ label: this.label });
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    this.#pass.dispatchWorkgroups(x, y, z);
    const errors = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    this.#checks.push({ label: d.label, errors, compile: pendingCompileErrors.get(pipeline) });
    this.#count++;
  }

  /** Copies bytes between buffers (ends the current compute pass). */
  copy(
    src: BufferBinding,
    srcOffset: number,
    dst: BufferBinding,
    dstOffset: number,
    bytes: number,
  ): void {
    this.#endPass();
    this.#encoder.copyBufferToBuffer(bufferOf(src), srcOffset, bufferOf(dst), dstOffset, bytes);
  }

  /** Zero-fills a tensor or buffer range. */
  clear(target: BufferBinding, byteOffset = 0, byteLength?: number): void {
    this.#endPass();
    const buf = bufferOf(target);
    this.#encoder.clearBuffer(buf, byteOffset, byteLength ?? buf.size - byteOffset);
  }

  /** Submits everything recorded and reports the first error with its kernel label. */
  async submit(): Promise<void> {
    this.#endPass();
    const device = this.gpu.device;
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    device.queue.submit([this.#encoder.finish()]);
    const submitErrors = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    for (const c of this.#checks) {
      const compile = await c.compile;
      if (compile) throw new KernelError(`shader compilation failed: ${compile}`);
      const [validation, oom] = await c.errors;
      if (oom) throw new KernelError(`${c.label}: out of GPU memory: ${oom.message}`);
      if (validation) throw new KernelError(`${c.label}: ${validation.message}`);
    }
    const [validation, oom] = await submitErrors;
    const labels = this.#checks.map((c) => c.label).slice(0, 8).join("; ");
    if (oom) throw new KernelError(`${this.label} (${labels}): out of GPU memory: ${oom.message}`);
    if (validation) throw new KernelError(`${this.label} (${labels}): ${validation.message}`);
    for (const u of this.#uniforms) u.destroy();
    this.#uniforms = [];
  }

  #endPass(): void {
    if (this.#pass) {
      this.#pass.end();
      this.#pass = null;
    }
  }
}

/** Waits until the GPU has finished all submitted work (one round trip). */
export async function finish(gpu: Gpu): Promise<void> {
  await gpu.device.queue.onSubmittedWorkDone();
}

function bufferOf(b: BufferBinding): GPUBuffer {
  if (b instanceof GPUBuffer) return b;
  return b.buffer;
}

function toResource(b: Binding): GPUBindingResource {
  if (b instanceof GPUTextureView) return b;
  if (b instanceof GPUBuffer) return { buffer: b };
  if ("shape" in b) {
    return { buffer: b.buffer, size: Math.max(16, Math.ceil(b.byteSize / 16) * 16) };
  }
  return { buffer: b.buffer, offset: b.offset ?? 0, size: b.size };
}
