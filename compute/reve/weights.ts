/**
 * REVE's weights by exact key name (docs/ARCHITECTURE.md, "REVE"): every expected key must exist
 * with the expected shape and no unexpected key may be left over. All problems are reported at
 * once, with near-match suggestions for misspelt keys.
 */
import { nearMatches } from "../data/montage.ts";
import { assertFiniteTensors, readSafetensors } from "../io/safetensors.ts";
import { innerDim, mlpHidden, type ReveConfig } from "./config.ts";
import { EegSaeError } from "../util/errors.ts";

export class ReveWeightsError extends EegSaeError {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: weights do not match the REVE config:\n  - ${problems.join("\n  - ")}`);
  }
}

export interface HostTensor {
  shape: number[];
  data: Float32Array<ArrayBuffer>;
}

/** Keys of block `l`'s parameters. */
export function blockKeys(l: number) {
  const p = `transformer.layers.${l}.`;
  return {
    attnNorm: `${p}0.norm.weight`,
    qkv: `${p}0.to_qkv.weight`,
    out: `${p}0.to_out.weight`,
    mlpNorm: `${p}1.net.0.weight`,
    mlpIn: `${p}1.net.1.weight`,
    mlpOut: `${p}1.net.3.weight`,
  };
}

/** Every parameter of the config with its shape, in the reference's layout. */
export function expectedWeightShapes(cfg: ReveConfig): Map<string, number[]> {
  const D = cfg.embedDim;
  const inner = innerDim(cfg);
  const hidden = mlpHidden(cfg);
  const m = new Map<string, number[]>([
    ["cls_query_token", [1, 1, D]],
    ["to_patch_embedding.0.weight", [D, cfg.patchSize]],
    ["to_patch_embedding.0.bias", [D]],
    ["mlp4d.0.weight", [D, 4]],
    ["mlp4d.2.weight", [D]],
    ["mlp4d.2.bias", [D]],
    ["ln.weight", [D]],
    ["ln.bias", [D]],
  ]);
  for (let l = 0; l < cfg.depth; l++) {
    const k = blockKeys(l);
    m.set(k.attnNorm, [D]);
    m.set(k.qkv, [3 * inner, D]);
    m.set(k.out, [D, inner]);
    m.set(k.mlpNorm, [D]);
    m.set(k.mlpIn, [cfg.useGeglu ? 2 * hidden : hidden, D]);
    m.set(k.mlpOut, [D, hidden]);
  }
  return m;
}

/** Number of float parameters the config has. */
export function parameterCount(cfg: ReveConfig): number {
  let n = 0;
  for (const shape of expectedWeightShapes(cfg).values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Checks a set of named tensors against the config; throws ReveWeightsError listing everything wrong. */
export function validateWeights(
  tensors: ReadonlyMap<string, { shape: readonly number[]; dtype?: string }>,
  cfg: ReveConfig,
  source: string,
): void {
  const expected = expectedWeightShapes(cfg);
  const problems: string[] = [];
  const unexpected = [...tensors.keys()].filter((k) => !expected.has(k));
  const missing = [...expected.keys()].filter((k) => !tensors.has(k));
  for (const key of missing) {
    const near = nearestKey(key, unexpected);
    problems.push(
      `missing key "${key}" [${expected.get(key)}]` + (near ? ` (found "${near}" instead?)` : ""),
    );
  }
  for (const key of unexpected) {
    const near = nearestKey(key, missing);
    problems.push(
      `unexpected key "${key}" [${tensors.get(key)!.shape}]` +
        (near ? ` (did you mean "${near}"?)` : ""),
    );
  }
  for (const [key, shape] of expected) {
    const t = tensors.get(key);
    if (!t) continue;
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      problems.push(`"${key}" has shape [${t.shape}], expected [${shape}]`);
    }
    if (t.dtype !== undefined && !["F32", "F16", "BF16", "F64"].includes(t.dtype)) {
      problems.push(`"${key}" has dtype ${t.dtype}, expected a float type`);
    }
  }
  if (problems.length) throw new ReveWeightsError(source, problems);
}

/** Reads and validates a `model.safetensors`; the tensors are float32 on the host. */
export async function readReveWeights(
  path: string,
  cfg: ReveConfig,
): Promise<Map<string, HostTensor>> {
  const file = await readSafetensors(path);
  validateWeights(file.tensors, cfg, path);
  assertFiniteTensors(file);
  const out = new Map<string, HostTensor>();
  for (const [key, t] of file.tensors) {
    // Validation has rejected integer dtypes; the file was read into an ArrayBuffer.
    if (t.dtype === "I32" || t.dtype === "I64") continue;
    out.set(key, { shape: t.shape, data: t.data as Float32Array<ArrayBuffer> });
  }
  return out;
}

/** The closest candidate (same name in another case, or a small edit away), if any. */
function nearestKey(key: string, candidates: string[]): string | undefined {
  return nearMatches(key, candidates, 1)[0];
}
