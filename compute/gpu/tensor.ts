/** A GPU buffer with a shape and an element type. Data stays on the GPU until read back. */
import type { Gpu } from "./device.ts";
import { EegSaeError } from "../util/errors.ts";

export type DType = "f32" | "u32" | "i32";

export type TypedArrayOf<D extends DType> = D extends "f32" ? Float32Array<ArrayBuffer>
  : D extends "u32" ? Uint32Array<ArrayBuffer>
  : Int32Array<ArrayBuffer>;

export const STORAGE_USAGE = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC |
  GPUBufferUsage.COPY_DST;

export class ShapeError extends EegSaeError {}

export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape}]`);
    n *= d;
  }
  return n;
}

/** Storage buffers are sized in 16-byte steps so vec4 loads past a ragged end stay in bounds. */
export function paddedByteSize(elements: number): number {
  return Math.max(16, Math.ceil((elements * 4) / 16) * 16);
}

export class Tensor<D extends DType = DType> {
  readonly size: number;
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: D,
    readonly label = "",
  ) {
    this.size = numel(shape);
    if (paddedByteSize(this.size) > buffer.size) {
      throw new ShapeError(
        `tensor ${label} [${shape}] needs ${this.size * 4} bytes, buffer has ${buffer.size}`,
      );
    }
  }

  get byteSize(): number {
    return this.size * 4;
  }

  /** Same buffer, new shape with the same element count. */
  reshape(shape: readonly number[]): Tensor<D> {
    if (numel(shape) !== this.size) {
      throw new ShapeError(`cannot reshape ${this.label} [${this.shape}] to [${shape}]`);
    }
    return new Tensor(this.buffer, shape, this.dtype, this.label);
  }

  toString(): string {
    return `${this.label || "tensor"}:${this.dtype}[${this.shape.join(",")}]`;
  }
}

/** A fresh tensor (zero-filled by WebGPU), optionally initialised from host data. */
export function createTensor<D extends DType>(
  gpu: Gpu,
  shape: readonly number[],
  dtype: D,
  label = "",
  data?: TypedArrayOf<D>,
): Tensor<D> {
  const size = numel(shape);
  if (size * 4 > gpu.limits.maxBufferSize) {
    throw new ShapeError(
      `tensor ${label} [${shape}] needs ${
        size * 4
      } bytes, above maxBufferSize ${gpu.limits.maxBufferSize}`,
    );
  }
  const buffer = gpu.device.createBuffer({
    label,
    size: paddedByteSize(size),
    usage: STORAGE_USAGE,
  });
  const t = new Tensor(buffer, shape, dtype, label);
  if (data) upload(gpu, t, data);
  return t;
}

export function upload<D extends DType>(
  gpu: Gpu,
  t: Tensor<D>,
  data: TypedArrayOf<D>,
  elementOffset = 0,
): void {
  if (data.length + elementOffset > t.size) {
    throw new ShapeError(
      `upload of ${data.length} elements at ${elementOffset} overflows ${t.toString()}`,
    );
  }
  gpu.device.queue.writeBuffer(t.buffer, elementOffset * 4, data);
}

/** Copies a tensor (or a range of its elements) to the host. One GPU round trip (~10 ms in Deno). */
export async function readback<D extends DType>(
  gpu: Gpu,
  t: Tensor<D>,
  elementOffset = 0,
  count = t.size - elementOffset,
): Promise<TypedArrayOf<D>> {
  const bytes = await readBytes(gpu, t.buffer, elementOffset * 4, count * 4);
  const Ctor = t.dtype === "f32" ? Float32Array : t.dtype === "u32" ? Uint32Array : Int32Array;
  return new Ctor(bytes) as TypedArrayOf<D>;
}

export async function readBytes(
  gpu: Gpu,
  buffer: GPUBuffer,
  byteOffset: number,
  byteLength: number,
): Promise<ArrayBuffer> {
  const aligned = Math.ceil(byteLength / 4) * 4;
  if (aligned === 0) return new ArrayBuffer(0);
  const staging = gpu.device.createBuffer({
    size: aligned,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = gpu.device.createCommandEncoder({ label: "readback" });
  enc.copyBufferToBuffer(buffer, byteOffset, staging, 0, aligned);
  gpu.device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const out = staging.getMappedRange().slice(0, byteLength);
  staging.unmap();
  staging.destroy();
  return out;
}
