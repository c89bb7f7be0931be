/**
 * Fused multi-head self-attention (`shaders/attention.wgsl`): reads the fused QKV buffer
 * `[B, N, 3·H·Dh]` (rows q | k | v, head h in columns `[h·Dh, (h+1)·Dh)`), writes `[B, N, H·Dh]`
 * and, only when a pattern tensor is given, the probabilities `[B, H, N, N]`. Stable online
 * softmax, no mask, any N. Also the column slice that pulls q, k or v out of the fused buffer.
 */
import { type CommandBatch, ShapeError, type Tensor, uniformFields } from "../compute/gpu/mod.ts";

const QUERIES_PER_WORKGROUP = 64;
const MAX_KEYS_PER_TILE = 32;

export interface AttentionOptions {
  heads: number;
  headDim: number;
  /** `[B, H, N, N]`: written only when given (the `attn.hook_pattern` hook). */
  pattern?: Tensor;
}

/** Records the attention of every head of every trial. Allocates nothing but a cached 16-byte stub. */
export function attention(
  batch: CommandBatch,
  qkv: Tensor,
  out: Tensor,
  opts: AttentionOptions,
): void {
  const { heads, headDim, pattern } = opts;
  if (qkv.shape.length !== 3 || qkv.shape[2] !== 3 * heads * headDim) {
    throw new ShapeError(
      `attention: qkv ${qkv} must be [B, N, ${3 * heads * headDim}] for ${heads}×${headDim} heads`,
    );
  }
  const [B, N] = qkv.shape;
  if (
    out.shape.length !== 3 || out.shape[0] !== B || out.shape[1] !== N ||
    out.shape[2] !== heads * headDim
  ) {
    throw new ShapeError(`attention: out ${out} must be [${B}, ${N}, ${heads * headDim}]`);
  }
  if (pattern) {
    const want = [B, heads, N, N];
    if (pattern.shape.length !== 4 || pattern.shape.some((d, i) => d !== want[i])) {
      throw new ShapeError(`attention: pattern ${pattern} must be [${want}]`);
    }
  }
  if (out.buffer === qkv.buffer || (pattern && pattern.buffer === qkv.buffer)) {
    throw new ShapeError("attention: outputs must not alias the qkv input");
  }
  const gpu = batch.gpu;
  const tileBytes = 2 * headDim * 4;
  const keysPerTile = Math.min(
    MAX_KEYS_PER_TILE,
    Math.floor(gpu.limits.maxComputeWorkgroupStorageSize / tileBytes),
  );
  if (keysPerTile < 1) {
    throw new ShapeError(`attention: head_dim ${headDim} does not fit in workgroup memory`);
  }
  const vec4 = headDim % 4 === 0;
  const scale = 1 / Math.sqrt(headDim);
  batch.dispatch({
    shader: "attention.wgsl",
    entryPoint: vec4 ? "main_vec4" : "main",
    header: `const DH: u32 = ${headDim}u;\nconst TK: u32 = ${keysPerTile}u;\n` +
      `const WG: u32 = ${QUERIES_PER_WORKGROUP}u;\nconst WRITE_PATTERN: bool = ${
        Boolean(pattern)
      };`,
    bindings: {
      [vec4 ? "qkv4" : "qkv"]: qkv,
      [vec4 ? "out4" : "out"]: out,
      pattern: pattern ?? stubBuffer(batch),
      params: uniformFields({ n: N, heads, scale }),
    },
    workgroups: [Math.ceil(N / QUERIES_PER_WORKGROUP), heads, B],
    label: `attention qkv[${qkv.shape}] heads ${heads}×${headDim}${pattern ? " +pattern" : ""}`,
  });
}

/** Copies columns `[offset, offset+width)` of `src [..., stride]` into `dst [..., width]`. */
export function sliceColumns(batch: CommandBatch, src: Tensor, dst: Tensor, offset: number): void {
  const stride = src.shape[src.shape.length - 1];
  const rows = src.size / stride;
  const width = dst.size / rows;
  if (!Number.isInteger(width) || width < 1 || offset < 0 || offset + width > stride) {
    throw new ShapeError(
      `sliceColumns: cannot take ${dst.size / rows} columns at ${offset} of ${src} into ${dst}`,
    );
  }
  batch.dispatch({
    shader: "attention.wgsl",
    entryPoint: "slice_columns",
    header: "const DH: u32 = 4u;\nconst TK: u32 = 1u;\nconst WG: u32 = 1u;\n" +
      "const WRITE_PATTERN: bool = false;",
    bindings: {
      slice_src: src,
      slice_dst: dst,
      slice: uniformFields({ rows, stride, offset, width }),
    },
    workgroups: { invocations: rows * width },
    label: `slice_columns ${src}[:, ${offset}:${offset + width}] → ${dst}`,
  });
}

/** Plain CPU reference (float64): the output `[B,N,H·Dh]` and the pattern `[B,H,N,N]`. */
export function attentionRef(
  qkv: ArrayLike<number>,
  batchSize: number,
  tokens: number,
  heads: number,
  headDim: number,
): { out: Float64Array; pattern: Float64Array } {
  const inner = heads * headDim;
  const stride = 3 * inner;
  const out = new Float64Array(batchSize * tokens * inner);
  const pattern = new Float64Array(batchSize * heads * tokens * tokens);
  const scale = 1 / Math.sqrt(headDim);
  const s = new Float64Array(tokens);
  for (let b = 0; b < batchSize; b++) {
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < tokens; i++) {
        const qo = (b * tokens + i) * stride + h * headDim;
        let max = -Infinity;
        for (let j = 0; j < tokens; j++) {
          const ko = (b * tokens + j) * stride + inner + h * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += qkv[qo + d] * qkv[ko + d];
          s[j] = dot * scale;
          if (s[j] > max) max = s[j];
        }
        let sum = 0;
        for (let j = 0; j < tokens; j++) {
          s[j] = Math.exp(s[j] - max);
          sum += s[j];
        }
        const row = ((b * heads + h) * tokens + i) * tokens;
        const oo = (b * tokens + i) * inner + h * headDim;
        for (let j = 0; j < tokens; j++) {
          const p = s[j] / sum;
          pattern[row + j] = p;
          const vo = (b * tokens + j) * stride + 2 * inner + h * headDim;
          for (let d = 0; d < headDim; d++) out[oo + d] += p * qkv[vo + d];
        }
      }
    }
  }
  return { out, pattern };
}

const stubs = new WeakMap<GPUDevice, GPUBuffer>();

/** A 16-byte buffer bound in place of the pattern when it is not written. */
function stubBuffer(batch: CommandBatch): GPUBuffer {
  const device = batch.gpu.device;
  let b = stubs.get(device);
  if (!b) {
    b = device.createBuffer({
      label: "attention pattern stub",
      size: 16,
      usage: GPUBufferUsage.STORAGE,
    });
    stubs.set(device, b);
  }
  return b;
}
