/**
 * Names of everything a REVE forward can hand back (docs/ARCHITECTURE.md, "REVE"): the golden
 * outputs (`patch_embed`, `fourier`, `mlp4d`, `pos_embed`, `hidden.{i}`, `blocks.{l}.attn_out`,
 * `blocks.{l}.mlp_out`, `final`, `attention_pooled`) and the hook points of every block
 * (`blocks.{l}.hook_resid_pre`, ..., `blocks.{l}.attn.hook_pattern`, ...). Layer indices may be
 * negative and count from the end like Python (`blocks.-2.hook_resid_post` is block depth−2).
 *
 * Hook semantics (per block l, tokens channel-major):
 * - `hook_resid_pre` [B,N,D] = hidden[l]; `hook_resid_mid` [B,N,D] = hidden[l] + attention;
 *   `hook_resid_post` [B,N,D] = hidden[l+1].
 * - `attn.hook_q|k|v` [B,N,H,Dh]: the projections of the RMS-normed residual.
 * - `attn.hook_pattern` [B,H,N,N]: softmax(q·kᵀ/√Dh), rows are queries.
 * - `attn.hook_attn_out` [B,N,D]: the output projection (what is added to the residual).
 * - `mlp.hook_mlp_in` [B,N,D]: the RMS-normed resid_mid the MLP's first linear reads.
 * - `mlp.hook_mlp_out` [B,N,D]: the MLP's output (what is added to the residual).
 *
 * The earlier Python pipeline's TransformerLens names (`transformer.layers.{l}.hook_resid_post`,
 * `transformer.layers.{l}.attn.hook_q`, `transformer.layers.{l}.ff.hook_mlp_in`, ...) and short
 * forms with a block layer (`resid_post`, `hook_mlp_in`, `mlp.hook_mlp_out`, `q`, ...) name the same
 * hooks; `canonicalHookName` turns them into ours.
 */
import type { ReveConfig } from "./config.ts";
import { EegSaeError } from "../util/errors.ts";

export const HOOK_POINTS = [
  "hook_resid_pre",
  "hook_resid_mid",
  "hook_resid_post",
  "attn.hook_q",
  "attn.hook_k",
  "attn.hook_v",
  "attn.hook_pattern",
  "attn.hook_attn_out",
  "mlp.hook_mlp_in",
  "mlp.hook_mlp_out",
] as const;
export type HookPoint = typeof HOOK_POINTS[number];

/** Outputs computed before the first block. */
export const EMBEDDING_OUTPUTS = ["patch_embed", "fourier", "mlp4d", "pos_embed"] as const;
export type EmbeddingOutput = typeof EMBEDDING_OUTPUTS[number];

export type OutputRequest =
  | { kind: "embedding"; name: EmbeddingOutput }
  | { kind: "hidden"; index: number }
  | { kind: "block"; layer: number; point: HookPoint | "attn_out" | "mlp_out" }
  | { kind: "final" }
  | { kind: "attention_pooled" };

export class HookNameError extends EegSaeError {}

/** `blocks.{layer}.{point}` with a possibly negative layer. */
export function hookName(layer: number, point: HookPoint): string {
  return `blocks.${layer}.${point}`;
}

/** Short forms: the hook point without its block (`resid_post`, `hook_q`, `ff.hook_mlp_in`, ...). */
const SHORT_HOOK_POINTS: ReadonlyMap<string, HookPoint> = new Map(
  HOOK_POINTS.flatMap((point) => {
    const bare = point.replace(/^(attn|mlp)\./, "");
    const short = bare.replace(/^hook_/, "");
    const forms: [string, HookPoint][] = [[point, point], [bare, point], [short, point]];
    if (point.startsWith("mlp.")) forms.push([point.replace(/^mlp\./, "ff."), point]);
    return forms;
  }).concat([["resid", "hook_resid_post"]]),
);

/**
 * Our name (`blocks.{l}.{point}`, layer as given) for a hook named ours, the earlier pipeline's
 * way (`transformer.layers.{l}.ff.hook_mlp_in`) or in short form (`mlp_in` with `blockLayer`).
 * Names of other outputs (`final`, `hidden.3`, `blocks.2.mlp_out`, ...) come back unchanged.
 */
export function canonicalHookName(name: string, blockLayer?: number): string {
  const full = /^(?:blocks|transformer\.layers)\.(-?\d+)\.(.+)$/.exec(name);
  if (full) {
    const point = SHORT_HOOK_POINTS.get(full[2]);
    if (point && full[2].includes("hook_")) return hookName(Number(full[1]), point);
    if (name.startsWith("transformer.layers.")) {
      throw new HookNameError(
        `unknown hook "${name}"; the earlier pipeline's hooks are transformer.layers.{i}.` +
          `{hook_resid_pre|hook_resid_mid|hook_resid_post|attn.hook_q|attn.hook_k|attn.hook_v|` +
          `attn.hook_pattern|attn.hook_attn_out|ff.hook_mlp_in|ff.hook_mlp_out}`,
      );
    }
    return name;
  }
  const point = SHORT_HOOK_POINTS.get(name);
  if (!point) return name;
  if (blockLayer === undefined) {
    throw new HookNameError(`hook "${name}" names no block: give --block_layer or a full name`);
  }
  return hookName(blockLayer, point);
}

/** The block of a full hook name (ours or the earlier pipeline's), if it names one. */
export function hookLayer(name: string): number | undefined {
  const m = /^(?:blocks|transformer\.layers)\.(-?\d+)\./.exec(name);
  return m ? Number(m[1]) : undefined;
}

/**
 * Resolves a name against the depth; negative indices count from the end. Hook names may be
 * ours or the earlier pipeline's.
 */
export function parseOutputName(asked: string, depth: number): OutputRequest {
  const name = canonicalHookName(asked);
  if ((EMBEDDING_OUTPUTS as readonly string[]).includes(name)) {
    return { kind: "embedding", name: name as EmbeddingOutput };
  }
  if (name === "final") return { kind: "final" };
  if (name === "attention_pooled") return { kind: "attention_pooled" };
  const hidden = /^hidden\.(-?\d+)$/.exec(name);
  if (hidden) return { kind: "hidden", index: resolveIndex(name, Number(hidden[1]), depth + 1) };
  const block = /^blocks\.(-?\d+)\.(.+)$/.exec(name);
  if (block) {
    const point = block[2];
    const layer = resolveIndex(name, Number(block[1]), depth);
    if (point === "attn_out" || point === "mlp_out") return { kind: "block", layer, point };
    if ((HOOK_POINTS as readonly string[]).includes(point)) {
      return { kind: "block", layer, point: point as HookPoint };
    }
    throw new HookNameError(
      `unknown hook point "${point}" in "${name}"; expected one of ${
        HOOK_POINTS.join(", ")
      }, attn_out, mlp_out`,
    );
  }
  throw new HookNameError(
    `unknown output "${name}"; expected blocks.{l}.{${HOOK_POINTS.join("|")}}, ` +
      `hidden.{i}, ${EMBEDDING_OUTPUTS.join(", ")}, final or attention_pooled`,
  );
}

/** The canonical name of a request (non-negative indices). */
export function outputName(r: OutputRequest): string {
  switch (r.kind) {
    case "embedding":
      return r.name;
    case "hidden":
      return `hidden.${r.index}`;
    case "block":
      return `blocks.${r.layer}.${r.point}`;
    case "final":
      return "final";
    case "attention_pooled":
      return "attention_pooled";
  }
}

/** The last block a request needs to run (−1 when it needs none). */
export function lastLayerNeeded(r: OutputRequest, depth: number): number {
  switch (r.kind) {
    case "embedding":
      return -1;
    case "hidden":
      return r.index - 1;
    case "block":
      return r.layer;
    case "final":
    case "attention_pooled":
      return depth - 1;
  }
}

/** Every output of the golden files: embeddings, hidden states, block outputs, final, pooled. */
export function goldenOutputNames(depth: number): string[] {
  const names: string[] = [...EMBEDDING_OUTPUTS];
  for (let i = 0; i <= depth; i++) names.push(`hidden.${i}`);
  for (let l = 0; l < depth; l++) names.push(`blocks.${l}.attn_out`, `blocks.${l}.mlp_out`);
  names.push("final", "attention_pooled");
  return names;
}

/** Every hook point of every block. */
export function allHookNames(depth: number): string[] {
  const names: string[] = [];
  for (let l = 0; l < depth; l++) for (const p of HOOK_POINTS) names.push(hookName(l, p));
  return names;
}

/** Shape of an output for a batch of B trials of C channels and p patches. */
export function outputShape(
  r: OutputRequest,
  cfg: ReveConfig,
  batch: number,
  channels: number,
  patches: number,
): number[] {
  const N = channels * patches;
  const D = cfg.embedDim;
  if (r.kind === "final") return [batch, channels, patches, D];
  if (r.kind === "attention_pooled") return [batch, D];
  if (r.kind === "block") {
    if (r.point === "attn.hook_pattern") return [batch, cfg.heads, N, N];
    if (r.point === "attn.hook_q" || r.point === "attn.hook_k" || r.point === "attn.hook_v") {
      return [batch, N, cfg.heads, cfg.headDim];
    }
  }
  return [batch, N, D];
}

function resolveIndex(name: string, index: number, count: number): number {
  const resolved = index < 0 ? count + index : index;
  if (resolved < 0 || resolved >= count) {
    throw new HookNameError(`"${name}": index ${index} is out of range for ${count} entries`);
  }
  return resolved;
}
