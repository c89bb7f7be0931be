/**
 * REVE's attention pooling: `softmax(q·Xᵀ/√D)·X` over all tokens with the learned
 * `cls_query_token` as the single query and no projections (docs/ARCHITECTURE.md, "REVE").
 */
import type { BufferPool, CommandBatch, Tensor } from "../gpu/mod.ts";
import { scale } from "../../kernels/elementwise.ts";
import { matmul } from "../../kernels/matmul.ts";
import { softmax } from "../../kernels/softmax.ts";

/**
 * Records the pooling of `x [B, N, D]` with `query [D, 1]` into a pool tensor `[B, D]`.
 * Scratch tensors go to `scratch` for the caller to release after submit.
 */
export function attentionPool(
  batch: CommandBatch,
  pool: BufferPool,
  x: Tensor,
  query: Tensor,
  scratch: Tensor[],
): Tensor {
  const [B, N, D] = x.shape;
  const take = (shape: number[], label: string) => {
    const t = pool.acquire(shape, "f32", label);
    scratch.push(t);
    return t;
  };
  const scores = take([B, N, 1], "pool scores");
  matmul(batch, x, query, scores);
  const scaled = take([B, N], "pool scaled scores");
  scale(batch, scores.reshape([B, N]), 1 / Math.sqrt(D), scaled);
  const probs = take([B, N], "pool weights");
  softmax(batch, scaled, probs);
  const pooled = pool.acquire([B, 1, D], "f32", "attention_pooled");
  matmul(batch, probs.reshape([B, 1, N]), x, pooled);
  return pooled.reshape([B, D]);
}
