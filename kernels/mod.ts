/**
 * @module
 * One TypeScript module per WGSL shader (shaders/): its bind layout, dispatch geometry and shape
 * checks, and a plain CPU reference (float64 where it matters) that the tests compare the GPU
 * against. A kernel records dispatches into a `CommandBatch` (compute/gpu); it never submits, reads back
 * or knows about models. A failing shape check throws `ShapeError` naming the kernel and shapes.
 *
 * Main exports: {@link matmul} (batched, transposed-B, fused bias/activation/residual epilogue;
 * B may be a weight texture), {@link attention}, {@link layerNorm}, {@link rmsNorm},
 * {@link softmax}, {@link gelu} and {@link geglu} (exact erf form), {@link add}, {@link scale},
 * {@link reduce}, {@link unfoldPatches}, {@link poolTokens}, {@link topkRowsInPlace},
 * {@link jumpReluInPlace}, {@link adamStep}, {@link FeatureStatsGpu}, each with its `…Ref`.
 * The SAE training kernels (sae_common.ts, sae_encode.ts, sae_decode.ts, sae_dense.ts,
 * sae_backward.ts with `saeLossRef`, the float64 reference of the whole loss and its gradients,
 * sae_constraint.ts) are used by compute/sae/sae.ts directly.
 *
 * ```ts
 * import { CommandBatch, createTensor, getGpu, readback } from "../compute/gpu/mod.ts";
 * import { matmul, matmulRef } from "./mod.ts";
 *
 * const gpu = await getGpu();
 * const a = new Float32Array([1, 2, 3, 4]); // [2, 2]
 * const ta = createTensor(gpu, [2, 2], "f32", "a", a);
 * const out = createTensor(gpu, [2, 2], "f32", "out");
 * const batch = new CommandBatch(gpu, "example");
 * matmul(batch, ta, ta, out); // out = a·a
 * await batch.submit();
 * console.log(await readback(gpu, out), matmulRef(a, a, 2, 2, 2)); // [7, 10, 15, 22] twice
 * ```
 */
export { matmul, matmulRef } from "./matmul.ts";
export { attention, attentionRef } from "./attention.ts";
export { layerNorm, layerNormRef } from "./layernorm.ts";
export { rmsNorm, rmsNormRef } from "./rmsnorm.ts";
export { softmax, softmaxRef } from "./softmax.ts";
export { geglu, gegluRef, gelu, geluRef } from "./gelu.ts";
export { add, addRef, addScaled, addScaledRef, scale, scaleRef } from "./elementwise.ts";
export { reduce, reduceRef } from "./reduce.ts";
export { unfoldPatches, unfoldPatchesRef } from "./patch_embed.ts";
export { poolTokens, poolTokensRef } from "./token_pool.ts";
export { topkRowsInPlace, topkRowsRef } from "./topk_rows.ts";
export { jumpReluInPlace, jumpReluRef } from "./jumprelu.ts";
export { adamRef, adamStep } from "./adam.ts";
export { FeatureStatsGpu, gatherTopRef } from "./feature_stats.ts";
