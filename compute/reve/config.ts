/**
 * REVE's `config.json` (HuggingFace layout, docs/ARCHITECTURE.md, "REVE"): parsed with validation.
 * Unknown keys, missing keys, wrong types and inconsistent dimensions are all reported at once.
 */
import { EegSaeError } from "../util/errors.ts";

export interface ReveConfig {
  embedDim: number;
  depth: number;
  heads: number;
  headDim: number;
  mlpDimRatio: number;
  useGeglu: boolean;
  freqs: number;
  patchSize: number;
  patchOverlap: number;
  noiseRatio: number;
}

export class ReveConfigError extends EegSaeError {
  constructor(readonly source: string, readonly problems: string[], options?: ErrorOptions) {
    super(`${source}: invalid REVE config:\n  - ${problems.join("\n  - ")}`, options);
  }
}

/** config.json key → field, and whether the value is an integer, a number or a boolean. */
const KEYS: [string, keyof ReveConfig, "int" | "number" | "boolean"][] = [
  ["embed_dim", "embedDim", "int"],
  ["depth", "depth", "int"],
  ["heads", "heads", "int"],
  ["head_dim", "headDim", "int"],
  ["mlp_dim_ratio", "mlpDimRatio", "number"],
  ["use_geglu", "useGeglu", "boolean"],
  ["freqs", "freqs", "int"],
  ["patch_size", "patchSize", "int"],
  ["patch_overlap", "patchOverlap", "int"],
  ["noise_ratio", "noiseRatio", "number"],
];

/** HuggingFace bookkeeping keys that carry no architecture. */
const IGNORED_KEYS = new Set([
  "model_type",
  "architectures",
  "transformers_version",
  "torch_dtype",
  "auto_map",
  "_name_or_path",
]);

/** reve-base's config (docs/ARCHITECTURE.md, "REVE"). */
export const REVE_BASE_CONFIG: ReveConfig = {
  embedDim: 512,
  depth: 22,
  heads: 8,
  headDim: 64,
  mlpDimRatio: 2.66,
  useGeglu: true,
  freqs: 4,
  patchSize: 200,
  patchOverlap: 20,
  noiseRatio: 0.0025,
};

/** Hidden width of the MLP as the reference computes it: `int(D·mlp_dim_ratio)`. */
export function mlpHidden(cfg: ReveConfig): number {
  return Math.trunc(cfg.embedDim * cfg.mlpDimRatio);
}

/** Width of the attention's inner space, `H·Dh` (need not equal D). */
export function innerDim(cfg: ReveConfig): number {
  return cfg.heads * cfg.headDim;
}

/** Patch step of the unfold. */
export function patchStep(cfg: ReveConfig): number {
  return cfg.patchSize - cfg.patchOverlap;
}

/** Number of patches of a T-sample signal; the incomplete tail is dropped. */
export function patchCount(cfg: ReveConfig, samples: number): number {
  return Math.floor((samples - cfg.patchSize) / patchStep(cfg)) + 1;
}

/** Parses a config object; `source` names the file in error messages. */
export function parseReveConfig(raw: unknown, source = "config.json"): ReveConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ReveConfigError(source, ["expected a JSON object"]);
  }
  const obj = raw as Record<string, unknown>;
  const problems: string[] = [];
  const known = new Set(KEYS.map(([k]) => k));
  for (const key of Object.keys(obj)) {
    if (!known.has(key) && !IGNORED_KEYS.has(key)) {
      problems.push(`unknown key "${key}" (expected ${KEYS.map(([k]) => k).join(", ")})`);
    }
  }
  const cfg = {} as Record<keyof ReveConfig, number | boolean>;
  for (const [key, field, kind] of KEYS) {
    const v = obj[key];
    if (v === undefined) {
      problems.push(`missing key "${key}"`);
      continue;
    }
    if (kind === "boolean") {
      if (typeof v !== "boolean") problems.push(`"${key}" must be true or false, got ${json(v)}`);
      else cfg[field] = v;
    } else if (typeof v !== "number" || !Number.isFinite(v)) {
      problems.push(`"${key}" must be a number, got ${json(v)}`);
    } else if (kind === "int" && !Number.isInteger(v)) {
      problems.push(`"${key}" must be an integer, got ${v}`);
    } else cfg[field] = v;
  }
  if (problems.length === 0) problems.push(...consistencyProblems(cfg as unknown as ReveConfig));
  if (problems.length) throw new ReveConfigError(source, problems);
  return cfg as unknown as ReveConfig;
}

/** Reads and validates `dir/config.json`. */
export async function readReveConfig(path: string): Promise<ReveConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new ReveConfigError(path, [`cannot read: ${(e as Error).message}`], { cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ReveConfigError(path, [`not valid JSON: ${(e as Error).message}`], { cause: e });
  }
  return parseReveConfig(raw, path);
}

/** Checks that the dimensions fit together; returns every problem found. */
export function consistencyProblems(cfg: ReveConfig): string[] {
  const p: string[] = [];
  const positive: (keyof ReveConfig)[] = ["embedDim", "depth", "heads", "headDim", "freqs"];
  for (const k of positive) {
    if ((cfg[k] as number) < 1) p.push(`"${snake(k)}" must be at least 1, got ${cfg[k]}`);
  }
  if (cfg.embedDim % 2 !== 0) {
    p.push(`"embed_dim" must be even (the Fourier embedding is [cos, sin]), got ${cfg.embedDim}`);
  }
  if (cfg.freqs ** 4 < cfg.embedDim / 2) {
    p.push(
      `"freqs"⁴ = ${cfg.freqs ** 4} must be at least embed_dim/2 = ${cfg.embedDim / 2} ` +
        `(the Fourier embedding keeps the first embed_dim/2 of freqs⁴ frequencies)`,
    );
  }
  if (cfg.patchSize < 1) p.push(`"patch_size" must be at least 1, got ${cfg.patchSize}`);
  if (cfg.patchOverlap < 0 || cfg.patchOverlap >= cfg.patchSize) {
    p.push(
      `"patch_overlap" must be in [0, patch_size) = [0, ${cfg.patchSize}), got ${cfg.patchOverlap}`,
    );
  }
  if (cfg.mlpDimRatio <= 0 || mlpHidden(cfg) < 1) {
    p.push(
      `"mlp_dim_ratio" ${cfg.mlpDimRatio} gives an MLP width int(embed_dim·ratio) < 1`,
    );
  }
  if (cfg.noiseRatio < 0) p.push(`"noise_ratio" must be ≥ 0, got ${cfg.noiseRatio}`);
  return p;
}

/** The config in config.json's own key names (for writing fixtures and run records). */
export function toConfigJson(cfg: ReveConfig): Record<string, number | boolean> {
  const out: Record<string, number | boolean> = {};
  for (const [key, field] of KEYS) out[key] = cfg[field];
  return out;
}

function snake(field: keyof ReveConfig): string {
  return KEYS.find(([, f]) => f === field)![0];
}

function json(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}
