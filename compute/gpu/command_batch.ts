/**
 * Records many dispatches into one command encoder and submits them together: each submit or
 * readback costs ~10 ms in Deno, so whole steps are encoded at once. Validation and out-of-memory
 * errors are captured per dispatch and reported with the kernel's label and shapes.
 */
import type { Gpu } from "./device.ts";
import { grid1d } from "./grid.ts";
import {
  type CompiledKernel,
  getKernel,
  pendingCompileErrors,
  type PipelineSpec,
} from "./pipeline_cache.ts";
import { Tensor } from "./tensor.ts";
import type { BindingDecl } from "./wgsl_reflect.ts";
import { EegSaeError } from "../util/errors.ts";

export class KernelError extends EegSaeError {}

/** A buffer binding: a whole tensor, a raw buffer, or a range of one. */
export type BufferBinding = Tensor | GPUBuffer | {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
};

/**
 * Values of a uniform struct by field name, packed by the struct the shader declares for that
 * binding (every field but `_`-prefixed padding must be given; u32, i32 and f32 fields).
 */
export class UniformFields {
  constructor(readonly values: Readonly<Record<string, number>>) {}
}

export function uniformFields(values: Readonly<Record<string, number>>): UniformFields {
  return new UniformFields(values);
}

/** A binding: a buffer (see BufferBinding), a texture view, or a uniform struct's fields. */
export type Binding = BufferBinding | GPUTextureView | UniformFields;

export interface Dispatch extends PipelineSpec {
  /**
   * Bindings by the names the shader declares (`@group(0) @binding(n) var<...> name`). Every binding
   * the entry point uses must be given, and no name the shader does not declare.
   */
  bindings: Readonly<Record<string, Binding>>;
  /**
   * Workgroup counts, or `{ invocations }`: one invocation per item, the grid folded (grid1d) from
   * the workgroup size the entry point declares, so that size is written in one place.
   */
  workgroups: [number, number?, number?] | { invocations: number };
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
    const device = this.gpu.device;
    const kernel = getKernel(this.gpu, d);
    const max = this.gpu.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = "invocations" in d.workgroups
      ? grid1d(d.workgroups.invocations, kernel.entry.workgroupSize.reduce((p, s) => p * s), max)
      : d.workgroups;
    if (x > max || y > max || z > max || x < 1 || y < 1 || z < 1) {
      throw new KernelError(
        `${d.label}: workgroup grid [${x},${y},${z}] is outside 1..${max} per dimension`,
      );
    }
    const pipeline = kernel.pipeline;
    const entries = this.#bindGroupEntries(kernel, d);
    device.pushErrorScope("out-of-memory");
    device.pushErrorScope("validation");
    const bindGroup = device.createBindGroup({
      label: d.label,
      layout: pipeline.getBindGroupLayout(0),
      entries,
    });
    this.#pass ??= this.#encoder.beginComputePass({ label: this.label });
    this.#pass.setPipeline(pipeline);
    this.#pass.setBindGroup(0, bindGroup);
    this.#pass.dispatchWorkgroups(x, y, z);
    const errors = Promise.all([device.popErrorScope(), device.popErrorScope()]);
    this.#checks.push({ label: d.label, errors, compile: pendingCompileErrors.get(pipeline) });
    this.#count++;
  }

  /** The bind group entries of `d`, by name, after checking each against its declaration. */
  #bindGroupEntries(kernel: CompiledKernel, d: Dispatch): GPUBindGroupEntry[] {
    const where = `${d.label} (${kernel.name})`;
    for (const name of Object.keys(d.bindings)) {
      if (!kernel.declared.has(name)) {
        throw new KernelError(
          `${where}: the shader declares no binding "${name}" (it declares ${
            [...kernel.declared].join(", ")
          })`,
        );
      }
    }
    return kernel.entry.bindings.map((decl) => {
      const given = d.bindings[decl.name];
      if (given === undefined) {
        throw new KernelError(
          `${where}: binding "${decl.name}" (@binding(${decl.binding}) ${decl.type}) is missing`,
        );
      }
      checkBinding(where, decl, given, this.gpu.limits.maxStorageBufferBindingSize);
      const resource = given instanceof UniformFields
        ? { buffer: this.uniform(packUniform(where, kernel, decl, given)) }
        : toResource(given);
      return { binding: decl.binding, resource };
    });
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

/** The shader's declaration and the given resource agree in kind, element type and size. */
function checkBinding(where: string, decl: BindingDecl, given: Binding, maxStorage: number): void {
  const what = `binding "${decl.name}" (@binding(${decl.binding}) ${decl.type})`;
  const fail = (got: string) => {
    throw new KernelError(`${where}: ${what} ${got}`);
  };
  if (decl.kind === "texture") {
    if (!(given instanceof GPUTextureView)) fail("needs a texture view");
    return;
  }
  if (given instanceof GPUTextureView) return fail("needs a buffer, got a texture view");
  if (given instanceof UniformFields) {
    if (decl.kind !== "uniform") fail("is a storage buffer, got uniform fields");
    return;
  }
  const buffer = bufferOf(given);
  const usage = decl.kind === "uniform" ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE;
  if ((buffer.usage & usage) === 0) {
    fail(
      `needs a ${decl.kind === "uniform" ? "uniform" : "storage"} buffer, got "${buffer.label}"`,
    );
  }
  if (given instanceof Tensor && decl.scalar && given.dtype !== decl.scalar) {
    fail(`holds ${decl.scalar}, got ${given.dtype} tensor "${given.label}" [${given.shape}]`);
  }
  const bytes = given instanceof GPUBuffer
    ? given.size
    : given instanceof Tensor
    ? given.byteSize
    : given.size ?? given.buffer.size - (given.offset ?? 0);
  if (decl.kind !== "uniform" && bytes > maxStorage) {
    fail(`is ${bytes} bytes, over this device's storage binding limit of ${maxStorage}`);
  }
}

/** Packs uniform fields by the declared struct: 4-byte u32/i32/f32 fields in declaration order. */
function packUniform(
  where: string,
  kernel: CompiledKernel,
  decl: BindingDecl,
  given: UniformFields,
): ArrayBuffer {
  const fields = kernel.structs.get(decl.type);
  if (!fields) {
    throw new KernelError(`${where}: uniform "${decl.name}" is ${decl.type}, not a struct`);
  }
  const known = new Set(fields.map((f) => f.name));
  for (const name of Object.keys(given.values)) {
    if (!known.has(name)) {
      throw new KernelError(`${where}: struct ${decl.type} of "${decl.name}" has no field ${name}`);
    }
  }
  const buf = new ArrayBuffer(fields.length * 4);
  const view = new DataView(buf);
  fields.forEach((f, i) => {
    const v = given.values[f.name] ?? (f.name.startsWith("_") ? 0 : undefined);
    if (v === undefined) {
      throw new KernelError(
        `${where}: field ${f.name} of "${decl.name}" (${decl.type}) is missing`,
      );
    }
    if (f.type === "f32") view.setFloat32(i * 4, v, true);
    else if (f.type === "u32") view.setUint32(i * 4, v, true);
    else if (f.type === "i32") view.setInt32(i * 4, v, true);
    else throw new KernelError(`${where}: field ${f.name}: ${f.type} is not packed by name`);
  });
  return buf;
}

function bufferOf(b: BufferBinding): GPUBuffer {
  if (b instanceof GPUBuffer) return b;
  return b.buffer;
}

function toResource(b: BufferBinding | GPUTextureView): GPUBindingResource {
  if (b instanceof GPUTextureView) return b;
  if (b instanceof GPUBuffer) return { buffer: b };
  if ("shape" in b) {
    return { buffer: b.buffer, size: Math.max(16, Math.ceil(b.byteSize / 16) * 16) };
  }
  return { buffer: b.buffer, offset: b.offset ?? 0, size: b.size };
}
