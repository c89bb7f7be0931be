/**
 * REVE's forward (docs/ARCHITECTURE.md, "REVE") as an ONNX graph, built from the same config and
 * safetensors the WGSL forward reads. It is an independent oracle for our kernels and the graph
 * that the benchmark runs on onnxruntime-web.
 *
 * Inputs: `eeg [batch, channels, samples]` and `pos_embed [batch, tokens, D]` (the position
 * embedding, computed on the CPU). Outputs: `final [batch, tokens, D]` (the residual after the
 * last block, tokens channel-major `n = c·p + i`) and, on request, `hidden.{i}` for
 * i = 0..depth−1 (`hidden.{depth}` is `final`). Batch, channels and samples stay symbolic: the
 * patch count is computed in the graph.
 */
import { writeFileAtomic } from "../io/atomic.ts";
import { attrInt, attrInts, OnnxGraphBuilder } from "../onnx/graph_builder.ts";
import { resolveModelDir } from "./model_path.ts";
import {
  innerDim,
  mlpHidden,
  patchStep,
  readReveConfig,
  type ReveConfig,
  toConfigJson,
} from "./config.ts";
import { blockKeys, type HostTensor, readReveWeights, validateWeights } from "./weights.ts";

/** Graph input and output names. */
export const REVE_ONNX_EEG = "eeg";
export const REVE_ONNX_POS_EMBED = "pos_embed";
export const REVE_ONNX_FINAL = "final";
export const reveOnnxHiddenName = (i: number): string => `hidden.${i}`;

export interface ReveOnnxOptions {
  /** Also output `hidden.0 .. hidden.{depth-1}` (the residual stream before each block). */
  includeHidden?: boolean;
}

const RMS_EPS = 1e-6;

/** Builds the ONNX model bytes for a config and its weights (validated against the config). */
export function buildReveOnnx(
  cfg: ReveConfig,
  weights: ReadonlyMap<string, HostTensor>,
  options: ReveOnnxOptions = {},
  source = "weights",
): Uint8Array {
  validateWeights(weights, cfg, source);
  const D = cfg.embedDim;
  const g = new OnnxGraphBuilder("reve");
  const eeg = g.input(REVE_ONNX_EEG, "float32", ["batch", "channels", "samples"]);
  const posEmbed = g.input(REVE_ONNX_POS_EMBED, "float32", ["batch", "tokens", D]);

  const patches = unfoldPatches(g, cfg, eeg);
  const wPatch = transposedWeight(g, weights, "to_patch_embedding.0.weight");
  const bPatch = g.floatTensor(
    "to_patch_embedding.0.bias",
    get(weights, "to_patch_embedding.0.bias").data,
    [D],
  );
  const patchEmbed = g.node(
    "Add",
    [g.node("MatMul", [patches, wPatch]), bPatch],
    {},
    "patch_embed",
  );
  let x = g.node("Add", [patchEmbed, posEmbed], {}, reveOnnxHiddenName(0));
  const hidden = [x];

  for (let l = 0; l < cfg.depth; l++) {
    const last = l === cfg.depth - 1;
    const mid = attentionBlock(g, cfg, weights, l, x);
    x = mlpBlock(g, cfg, weights, l, mid, last ? REVE_ONNX_FINAL : reveOnnxHiddenName(l + 1));
    if (!last) hidden.push(x);
  }

  g.output(REVE_ONNX_FINAL, "float32", ["batch", "tokens", D]);
  if (options.includeHidden) {
    for (let i = 0; i < hidden.length; i++) g.output(hidden[i], "float32", ["batch", "tokens", D]);
  }
  return g.build({
    producerName: "eeg-sae",
    docString: "REVE EEG encoder forward (docs/ARCHITECTURE.md, REVE); inputs eeg and pos_embed",
    metadata: { reve_config: JSON.stringify(toConfigJson(cfg)) },
  });
}

/** Reads `dir/config.json` and `dir/model.safetensors` (dir or hub name) and builds the graph. */
export async function buildReveOnnxFromDir(
  model: string,
  options: ReveOnnxOptions = {},
): Promise<Uint8Array> {
  const modelDir = await resolveModelDir(model);
  const cfg = await readReveConfig(`${modelDir}/config.json`);
  const weightsPath = `${modelDir}/model.safetensors`;
  const weights = await readReveWeights(weightsPath, cfg);
  return buildReveOnnx(cfg, weights, options, weightsPath);
}

/** `deno task export-onnx`: writes the model folder's graph to `outPath`; returns its size. */
export async function exportReveOnnx(
  modelDir: string,
  outPath: string,
  options: ReveOnnxOptions = {},
): Promise<number> {
  const bytes = await buildReveOnnxFromDir(modelDir, options);
  await writeFileAtomic(outPath, bytes);
  return bytes.byteLength;
}

/**
 * eeg [B,C,T] → patches [B, C·p, P], channel-major. The patch count `p = (T−P)/step + 1` is
 * computed from the input's shape, and one Gather with indices `i·step + j` does the unfold.
 */
function unfoldPatches(g: OnnxGraphBuilder, cfg: ReveConfig, eeg: string): string {
  const P = cfg.patchSize;
  const step = patchStep(cfg);
  const samples = g.node("Shape", [eeg], { start: attrInt(2), end: attrInt(3) });
  const spare = g.node("Sub", [samples, g.constInt64([P])]);
  const count = g.node("Add", [g.node("Div", [spare, g.constInt64([step])]), g.constInt64([1])]);
  const countScalar = g.node("Squeeze", [count, g.constInt64([0])]);
  const patchIndex = g.node("Range", [
    g.constInt64([0], []),
    countScalar,
    g.constInt64([1], []),
  ]);
  const starts = g.node("Unsqueeze", [
    g.node("Mul", [patchIndex, g.constInt64([step], [])]),
    g.constInt64([1]),
  ]);
  const offsets = g.constInt64(Array.from({ length: P }, (_, j) => j), [1, P]);
  const indices = g.node("Add", [starts, offsets]);
  const unfolded = g.node("Gather", [eeg, indices], { axis: attrInt(2) }); // [B,C,p,P]
  return g.node("Reshape", [unfolded, g.constInt64([0, -1, P])], {}, "patches");
}

/** Pre-norm attention with residual: x + W_out·softmax(q·kᵀ/√Dh)·v. */
function attentionBlock(
  g: OnnxGraphBuilder,
  cfg: ReveConfig,
  weights: ReadonlyMap<string, HostTensor>,
  l: number,
  x: string,
): string {
  const k = blockKeys(l);
  const H = cfg.heads;
  const Dh = cfg.headDim;
  const inner = innerDim(cfg);
  const normed = rmsNorm(
    g,
    x,
    g.floatTensor(k.attnNorm, get(weights, k.attnNorm).data, [cfg.embedDim]),
  );
  const qkv = g.node("MatMul", [normed, transposedWeight(g, weights, k.qkv)]);
  const [q, kk, v] = g.nodeMulti(
    "Split",
    [qkv, g.constInt64([inner, inner, inner])],
    ["q", "k", "v"].map((n) => g.freshName(`blocks.${l}.attn.${n}`)),
    { axis: attrInt(-1) },
  );
  const headShape = g.constInt64([0, 0, H, Dh]);
  const heads = (t: string, perm: number[]) =>
    g.node("Transpose", [g.node("Reshape", [t, headShape])], { perm: attrInts(perm) });
  const qh = heads(q, [0, 2, 1, 3]); // [B,H,N,Dh]
  const kt = heads(kk, [0, 2, 3, 1]); // [B,H,Dh,N]
  const vh = heads(v, [0, 2, 1, 3]);
  const scores = g.node("Mul", [g.node("MatMul", [qh, kt]), g.constFloat([1 / Math.sqrt(Dh)])]);
  const pattern = g.node("Softmax", [scores], { axis: attrInt(-1) });
  const context = g.node("Transpose", [g.node("MatMul", [pattern, vh])], {
    perm: attrInts([0, 2, 1, 3]),
  });
  const merged = g.node("Reshape", [context, g.constInt64([0, 0, inner])]);
  const attnOut = g.node("MatMul", [merged, transposedWeight(g, weights, k.out)]);
  return g.node("Add", [x, attnOut], {}, `blocks.${l}.resid_mid`);
}

/** Pre-norm MLP with residual: x + W3·(GEGLU or GELU)(W1·RMSNorm(x)). */
function mlpBlock(
  g: OnnxGraphBuilder,
  cfg: ReveConfig,
  weights: ReadonlyMap<string, HostTensor>,
  l: number,
  x: string,
  outName: string,
): string {
  const k = blockKeys(l);
  const hiddenWidth = mlpHidden(cfg);
  const normed = rmsNorm(
    g,
    x,
    g.floatTensor(k.mlpNorm, get(weights, k.mlpNorm).data, [cfg.embedDim]),
  );
  const h = g.node("MatMul", [normed, transposedWeight(g, weights, k.mlpIn)]);
  let act: string;
  if (cfg.useGeglu) {
    const [value, gate] = g.nodeMulti(
      "Split",
      [h, g.constInt64([hiddenWidth, hiddenWidth])],
      [g.freshName(`blocks.${l}.mlp.value`), g.freshName(`blocks.${l}.mlp.gate`)],
      { axis: attrInt(-1) },
    );
    act = g.node("Mul", [value, gelu(g, gate)]);
  } else {
    act = gelu(g, h);
  }
  const mlpOut = g.node("MatMul", [act, transposedWeight(g, weights, k.mlpOut)]);
  return g.node("Add", [x, mlpOut], {}, outName);
}

/** RMSNorm as the reference computes it: x / √(mean(x²) + 1e-6) · weight. */
function rmsNorm(g: OnnxGraphBuilder, x: string, weight: string): string {
  const meanSquare = g.node("ReduceMean", [g.node("Pow", [x, g.constFloat([2])])], {
    axes: attrInts([-1]),
    keepdims: attrInt(1),
  });
  const rms = g.node("Sqrt", [g.node("Add", [meanSquare, g.constFloat([RMS_EPS])])]);
  return g.node("Mul", [g.node("Div", [x, rms]), weight]);
}

/** Exact GELU, x·½·(1 + erf(x/√2)), in the node pattern ORT's optimiser recognises. */
function gelu(g: OnnxGraphBuilder, x: string): string {
  const erf = g.node("Erf", [g.node("Div", [x, g.constFloat([Math.SQRT2])])]);
  const onePlus = g.node("Add", [erf, g.constFloat([1])]);
  return g.node("Mul", [g.node("Mul", [x, onePlus]), g.constFloat([0.5])]);
}

/** A Linear weight `[out, in]` stored as `[in, out]` so that `x·Wᵀ` is one MatMul. */
function transposedWeight(
  g: OnnxGraphBuilder,
  weights: ReadonlyMap<string, HostTensor>,
  key: string,
): string {
  const w = get(weights, key);
  const [rows, cols] = w.shape;
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) t[c * rows + r] = w.data[r * cols + c];
  }
  return g.floatTensor(`${key}.T`, t, [cols, rows]);
}

function get(weights: ReadonlyMap<string, HostTensor>, key: string): HostTensor {
  const w = weights.get(key);
  // validateWeights has run, so a miss is a bug in this file's key names.
  if (!w) throw new Error(`REVE ONNX export: weight "${key}" missing after validation`);
  return w;
}
