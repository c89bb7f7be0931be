/** Reuses storage buffers by size class so repeated forwards and steps do not reallocate. */
import type { Gpu } from "./device.ts";
import { type DType, numel, paddedByteSize, ShapeError, STORAGE_USAGE, Tensor } from "./tensor.ts";

export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  #live = new Set<GPUBuffer>();
  #allocatedBytes = 0;
  #peakBytes = 0;

  constructor(readonly gpu: Gpu) {}

  /** Bytes currently allocated by this pool (in use or free). */
  get allocatedBytes(): number {
    return this.#allocatedBytes;
  }

  /** The most bytes this pool ever held at once. */
  get peakBytes(): number {
    return this.#peakBytes;
  }

  /** A tensor whose contents are undefined (a reused buffer is not cleared). */
  acquire<D extends DType>(shape: readonly number[], dtype: D, label = ""): Tensor<D> {
    const size = numel(shape);
    if (size * 4 > this.gpu.limits.maxBufferSize) {
      throw new ShapeError(`${label} [${shape}] exceeds maxBufferSize`);
    }
    const cls = sizeClass(paddedByteSize(size));
    const list = this.#free.get(cls);
    let buffer = list?.pop();
    if (!buffer) {
      buffer = this.gpu.device.createBuffer({ label, size: cls, usage: STORAGE_USAGE });
      this.#allocatedBytes += cls;
      this.#peakBytes = Math.max(this.#peakBytes, this.#allocatedBytes);
    }
    this.#live.add(buffer);
    return new Tensor(buffer, shape, dtype, label);
  }

  release(t: Tensor): void {
    if (!this.#live.delete(t.buffer)) return;
    const cls = t.buffer.size;
    const list = this.#free.get(cls) ?? [];
    list.push(t.buffer);
    this.#free.set(cls, list);
  }

  /** Destroys the free buffers (live ones stay valid). */
  trim(): void {
    for (const list of this.#free.values()) {
      for (const b of list) {
        this.#allocatedBytes -= b.size;
        b.destroy();
      }
    }
    this.#free.clear();
  }
}

/** Sizes round up to 1/8-octave steps: at most 9% waste, few distinct classes. */
function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const step = 2 ** Math.max(4, Math.floor(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}
