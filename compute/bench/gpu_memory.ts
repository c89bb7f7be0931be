/**
 * Peak GPU memory a benchmark section allocates: every buffer created on our device (tensors,
 * pooled buffers, uniforms, staging) is counted from `createBuffer` until its `destroy`, and every
 * rgba32float texture (the only format we create: weight matrices) from `createTexture` on.
 * onnxruntime-web's WebGPU backend requests a device of its own and is not counted.
 */

const TEXEL_BYTES: Record<string, number> = { rgba32float: 16 };

export class GpuMemoryMeter {
  readonly #device: GPUDevice;
  readonly #createBuffer: GPUDevice["createBuffer"];
  readonly #createTexture: GPUDevice["createTexture"];
  #live = 0;
  #peak = 0;

  /** Starts counting the buffers and textures `device` creates from now on. */
  constructor(device: GPUDevice) {
    this.#device = device;
    this.#createBuffer = device.createBuffer;
    this.#createTexture = device.createTexture;
    const createBuffer = this.#createBuffer.bind(device);
    device.createBuffer = (descriptor: GPUBufferDescriptor): GPUBuffer =>
      this.#count(createBuffer(descriptor), descriptor.size);
    const createTexture = this.#createTexture.bind(device);
    device.createTexture = (descriptor: GPUTextureDescriptor): GPUTexture => {
      const texture = createTexture(descriptor);
      const texels = texture.width * texture.height * texture.depthOrArrayLayers;
      return this.#count(texture, texels * (TEXEL_BYTES[descriptor.format] ?? 0));
    };
  }

  /** Counts `bytes` as live until the resource's `destroy`. */
  #count<R extends GPUBuffer | GPUTexture>(resource: R, bytes: number): R {
    this.#live += bytes;
    this.#peak = Math.max(this.#peak, this.#live);
    const destroy = resource.destroy.bind(resource);
    let alive = true;
    resource.destroy = () => {
      if (alive) this.#live -= bytes;
      alive = false;
      destroy();
    };
    return resource;
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
    this.#device.createTexture = this.#createTexture;
  }
}
