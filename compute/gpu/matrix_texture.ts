/**
 * A constant f32 matrix held in an rgba32float texture: row r of an [N, K] matrix is texture row r,
 * four consecutive values per texel (K/4 texels wide). Weights live here for `matmul` (as the B of
 * a·Bᵀ): a software adapter (llvmpipe) fetches a texel for all SIMD lanes with one gather, where a
 * storage-buffer load walks the lanes one by one with a bounds check each, so the product runs
 * about 1.3× faster (BENCHMARKS.md). Textures are read-only to our kernels: weights that a step
 * updates (the SAE's) stay in buffers.
 */
import type { Gpu } from "./device.ts";
import { ShapeError } from "./tensor.ts";

export class MatrixTexture {
  readonly view: GPUTextureView;

  constructor(
    readonly texture: GPUTexture,
    readonly rows: number,
    readonly cols: number,
    readonly label = "",
  ) {
    this.view = texture.createView({ label });
  }

  /** The matrix's shape, [rows, cols]. */
  get shape(): readonly [number, number] {
    return [this.rows, this.cols];
  }

  get byteSize(): number {
    return this.rows * this.cols * 4;
  }

  destroy(): void {
    this.texture.destroy();
  }

  toString(): string {
    return `${this.label || "matrix texture"}:f32[${this.rows},${this.cols}]`;
  }
}

/** Why a [rows, cols] matrix cannot be a MatrixTexture on this device, or undefined if it can. */
export function matrixTextureProblem(gpu: Gpu, rows: number, cols: number): string | undefined {
  const max = gpu.limits.maxTextureDimension2D;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    return `shape [${rows},${cols}] is not a non-empty matrix`;
  }
  if (cols % 4 !== 0) return `${cols} columns is not a multiple of 4 (one texel holds 4 values)`;
  if (rows > max || cols / 4 > max) {
    return `${rows} rows × ${cols / 4} texels exceeds maxTextureDimension2D ${max}`;
  }
  return undefined;
}

/** Uploads a row-major [rows, cols] matrix into a new texture; throws ShapeError if it cannot. */
export function createMatrixTexture(
  gpu: Gpu,
  rows: number,
  cols: number,
  data: Float32Array<ArrayBuffer>,
  label = "",
): MatrixTexture {
  const problem = matrixTextureProblem(gpu, rows, cols);
  if (problem) throw new ShapeError(`matrix texture ${label}: ${problem}`);
  if (data.length !== rows * cols) {
    throw new ShapeError(
      `matrix texture ${label} [${rows},${cols}] needs ${rows * cols} values, got ${data.length}`,
    );
  }
  const texture = gpu.device.createTexture({
    label,
    size: [cols / 4, rows],
    format: "rgba32float",
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  gpu.device.queue.writeTexture(
    { texture },
    data,
    { bytesPerRow: cols * 4, rowsPerImage: rows },
    [cols / 4, rows],
  );
  return new MatrixTexture(texture, rows, cols, label);
}
