/**
 * Peak GPU memory a benchmark section allocates: every buffer created on our device (tensors,
 * pooled buffers, uniforms, staging) is counted from `createBuffer` until its `destroy`.
 * onnxruntime-web's WebGPU backend requests a device of its own and is not counted.
 */

export class GpuMemoryMeter {
  readonly #device: GPUDevice;
  readonly #createBuffer: GPUDevice["createBuffer"];
  #live = 0;
  #peak = 0;

  /** Starts counting the buffers `device` creates from now on. */
  constructor(device: GPUDevice) {
    this.#device = device;
    this.#createBuffer = device.createBuffer;
    const create = this.#createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer => {
      const buffer = create(descriptor);
      this.#live += descriptor.size;
      this.#peak = Math.max(this.#peak, this.#live);
      const destroy = buffer.destroy.bind(buffer);
      let alive = true;
      buffer.destroy = () => {
        if (alive) this.#live -= descriptor.size;
        alive = false;
        destroy();
      };
      return buffer;
    };
  }

  /** Bytes in buffers created and not yet destroyed. */
  get liveBytes(): number {
    return this.#live;
  }

  /** The most bytes live at once since the last `resetPeak`. */
  get peakBytes(): number {
    return this.#peak;
  }

  /** Restarts the peak from what is live now. */
  resetPeak(): void {
    this.#peak = this.#live;
  }

  /** Stops counting (buffers created earlier keep their counting destroy). */
  dispose(): void {
    this.#device.createBuffer = this.#createBuffer;
  }
}
