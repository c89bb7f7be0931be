/**
 * SAEs saved by other tools, read as ours: the earlier Python pipeline's `torch.save` checkpoint
 * (`.pt`) and its gzipped pickle (`.pkl.gz`), both `{"cfg": config object, "state_dict": {W_enc,
 * b_enc, W_dec, b_dec}}`; SAELens 5 folders (`hook_name` at the top of cfg.json) and SAELens 6
 * folders (under `metadata`); and a bare `sae_weights.safetensors` given `d_in` and the hook. The
 * weights are kept bit for bit, the hook is translated to our name, and what the old config held
 * is either mapped to our cfg.json keys or listed as not mapped.
 */
import { basename, join } from "node:path";
import { gunzipSync } from "fflate";
import { writeJsonAtomic } from "../io/atomic.ts";
import { asFloat32 } from "../io/npy.ts";
import { readTorchCheckpoint } from "../io/torch_checkpoint.ts";
import { isNdArray, PickleObject, type PickleValue } from "../io/pickle_decode.ts";
import { readSafetensors, writeSafetensors } from "../io/safetensors.ts";
import { canonicalHookName } from "../reve/hooks.ts";
import { EegSaeError } from "../util/errors.ts";

export class SaeImportError extends EegSaeError {
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
  }
}

/** What a command line may add: the width and hook a bare weights file cannot tell. */
export interface SaeImportHints {
  dIn?: number;
  hook?: string;
  blockLayer?: number;
}

export type ForeignFormat =
  | "torch.save checkpoint"
  | "gzipped pickle"
  | "SAELens 5 folder"
  | "SAELens 6 folder"
  | "bare safetensors";

export interface ImportedSae {
  format: ForeignFormat;
  /** cfg.json in our layout (SAELens keys plus ours). */
  cfg: Record<string, unknown>;
  /** W_enc [d_in, d_sae], b_enc, W_dec [d_sae, d_in], b_dec (and threshold for JumpReLU). */
  tensors: Record<string, { shape: number[]; data: Float32Array }>;
  /** "key value" of each old setting carried into cfg.json. */
  kept: string[];
  /** Old settings with no counterpart here (kept verbatim under cfg.json's source_config). */
  unmapped: string[];
}

const WEIGHTS = ["W_enc", "b_enc", "W_dec", "b_dec"] as const;

/** Whether `path` is one of the foreign layouts (not our own sae folder or run folder). */
export async function isForeignSae(path: string): Promise<boolean> {
  const stat = await Deno.stat(path).catch(() => undefined);
  if (!stat) return false;
  if (stat.isFile) return true;
  const cfg = await readJsonIfAny(join(path, "cfg.json"));
  return cfg !== undefined && typeof cfg.hook_name !== "string" && isRecord(cfg.metadata);
}

/** Reads any supported layout into our cfg.json and weights. */
export async function readForeignSae(
  path: string,
  hints: SaeImportHints = {},
): Promise<ImportedSae> {
  const stat = await Deno.stat(path).catch(() => undefined);
  if (!stat) throw new SaeImportError(path, "no such file or folder");
  if (stat.isDirectory) return await readSaeLensFolder(path, hints);
  const name = basename(path).toLowerCase();
  if (name.endsWith(".safetensors")) return await readBareSafetensors(path, hints);
  const bytes = await Deno.readFile(path);
  if (name.endsWith(".gz")) {
    let raw: Uint8Array;
    try {
      raw = gunzipSync(bytes);
    } catch (e) {
      throw new SaeImportError(path, `not a gzip file (${(e as Error).message})`);
    }
    return fromPipelineCheckpoint(readTorchCheckpoint(raw, path), path, "gzipped pickle", hints);
  }
  return fromPipelineCheckpoint(
    readTorchCheckpoint(bytes, path),
    path,
    "torch.save checkpoint",
    hints,
  );
}

/** Writes an imported SAE as our folder (cfg.json + sae_weights.safetensors), never over one. */
export async function importSae(
  from: string,
  out: string,
  hints: SaeImportHints = {},
): Promise<ImportedSae> {
  const sae = await readForeignSae(from, hints);
  if (typeof sae.cfg.hook_name !== "string") {
    throw new SaeImportError(
      from,
      "no hook recorded: give --hook (and --block_layer for a short form)",
    );
  }
  for (const f of ["cfg.json", "sae_weights.safetensors"]) {
    if (await Deno.stat(join(out, f)).catch(() => undefined)) {
      throw new SaeImportError(out, `${f} already exists; choose another --out`);
    }
  }
  await Deno.mkdir(out, { recursive: true });
  await writeSafetensors(join(out, "sae_weights.safetensors"), sae.tensors);
  await writeJsonAtomic(join(out, "cfg.json"), sae.cfg);
  return sae;
}

// -- the earlier pipeline's checkpoints ---------------------------------------------------------

/** Old config keys and the cfg.json key each becomes. */
const PIPELINE_KEYS: Record<string, string> = {
  d_in: "d_in",
  expansion_factor: "expansion_factor",
  l1_coefficient: "l1_coefficient",
  model_name: "model_name",
  block_layer: "block_layer",
  module_name: "hook_name",
  hook_name: "hook_name",
  hook_point: "hook_name",
  context_size: "context_size",
  dataset_path: "dataset_path",
};

function fromPipelineCheckpoint(
  value: PickleValue,
  path: string,
  format: ForeignFormat,
  hints: SaeImportHints,
): ImportedSae {
  if (!(value instanceof Map)) throw new SaeImportError(path, "expected a dict {cfg, state_dict}");
  const stateDict = value.get("state_dict") ?? value.get("model_state_dict") ?? value.get("model");
  if (!(stateDict instanceof Map)) {
    throw new SaeImportError(
      path,
      `no "state_dict" dict of weights (keys: ${[...value.keys()].join(", ")})`,
    );
  }
  const tensors: ImportedSae["tensors"] = {};
  for (const [key, t] of stateDict) {
    const name = String(key).split(".").pop()!;
    if (!isNdArray(t)) continue;
    if ([...WEIGHTS, "threshold"].includes(name)) {
      tensors[name] = { shape: t.shape, data: asFloat32(t, `${path}: ${key}`) };
    }
  }
  const config = configRecord(value.get("cfg"));
  const dIn = numberOf(config.d_in) ?? hints.dIn;
  const layer = hints.blockLayer ?? numberOf(config.block_layer);
  const oldHook = hints.hook ?? stringOf(config.hook_name) ?? stringOf(config.hook_point) ??
    seedModuleHook(stringOf(config.module_name));
  const kept: string[] = [];
  const unmapped: string[] = [];
  const source: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(config)) {
    source[k] = v;
    if (k in PIPELINE_KEYS) kept.push(`${k} ${JSON.stringify(v)}`);
    else unmapped.push(k);
  }
  const cfg = ourConfig(path, format, tensors, {
    dIn,
    hook: oldHook === undefined ? undefined : canonicalHookName(oldHook, layer),
    blockLayer: layer,
    model: stringOf(config.model_name) ?? "",
    extra: {
      expansion_factor: config.expansion_factor ?? null,
      l1_coefficient: config.l1_coefficient ?? null,
      source_config: source,
    },
  });
  return { format, cfg, tensors, kept, unmapped };
}

/** The earlier pipeline's `module_name` ("resid" is the residual stream after the block). */
function seedModuleHook(module: string | undefined): string | undefined {
  if (module === undefined) return undefined;
  return module === "resid" ? "resid_post" : module;
}

/** A config object of an unknown class (its `__dict__`), or a plain dict, as JSON-able data. */
function configRecord(v: PickleValue | undefined): Record<string, unknown> {
  const state = v instanceof PickleObject ? v.state : v;
  if (!(state instanceof Map)) return {};
  const out: Record<string, unknown> = {};
  for (const [k, x] of state) out[String(k)] = plain(x);
  return out;
}

function plain(v: PickleValue | undefined): unknown {
  if (v === undefined || v === null || typeof v === "string" || typeof v === "boolean") {
    return v ?? null;
  }
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return Number(v);
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof PickleObject) return v.state === undefined ? v.className : configRecord(v);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), plain(x)]));
  if (v instanceof Uint8Array) return `<${v.length} bytes>`;
  if ("items" in v) return v.items.map(plain);
  return `<array [${v.shape}]>`;
}

// -- SAELens folders and bare weights -----------------------------------------------------------

async function readSaeLensFolder(dir: string, hints: SaeImportHints): Promise<ImportedSae> {
  const cfgPath = join(dir, "cfg.json");
  const old = await readJsonIfAny(cfgPath);
  if (!old) throw new SaeImportError(dir, "no cfg.json: not a SAELens folder");
  const meta = isRecord(old.metadata) ? old.metadata : undefined;
  const format: ForeignFormat = meta ? "SAELens 6 folder" : "SAELens 5 folder";
  const file = await readSafetensors(join(dir, "sae_weights.safetensors"));
  const tensors: ImportedSae["tensors"] = {};
  for (const [name, t] of file.tensors) {
    if (![...WEIGHTS, "threshold"].includes(name)) continue;
    if (!(t.data instanceof Float32Array)) {
      throw new SaeImportError(
        join(dir, "sae_weights.safetensors"),
        `${name} is ${t.dtype}, expected F32`,
      );
    }
    tensors[name] = { shape: t.shape, data: t.data };
  }
  const flat = { ...old, ...(meta ?? {}) } as Record<string, unknown>;
  const layer = hints.blockLayer ?? numberOf(flat.hook_layer);
  const hook = hints.hook ?? stringOf(flat.hook_name);
  const kept: string[] = [];
  const unmapped: string[] = [];
  const mapped = new Set([
    "d_in",
    "d_sae",
    "architecture",
    "hook_name",
    "hook_layer",
    "model_name",
    "dtype",
    "device",
    "activation_fn_str",
    "activation_fn_kwargs",
    "k",
    "context_size",
    "dataset_path",
  ]);
  // Settings that match how the SAE is run here count as kept; other values cannot be honoured.
  const same: Record<string, unknown> = {
    apply_b_dec_to_input: true,
    normalize_activations: "none",
  };
  for (const [k, v] of Object.entries(flat)) {
    if (k === "metadata") continue;
    if (mapped.has(k) || (k in same && same[k] === v)) kept.push(`${k} ${JSON.stringify(v)}`);
    else unmapped.push(k in same ? `${k} ${JSON.stringify(v)}` : k);
  }
  const cfg = ourConfig(dir, format, tensors, {
    dIn: numberOf(flat.d_in) ?? hints.dIn,
    hook: hook === undefined ? undefined : canonicalHookName(hook, layer),
    blockLayer: layer,
    model: stringOf(flat.model_name) ?? "",
    architecture: stringOf(old.architecture),
    k: numberOf(flat.k) ??
      numberOf((flat.activation_fn_kwargs as Record<string, unknown> | undefined)?.k),
    extra: { source_config: old },
  });
  return { format, cfg, tensors, kept, unmapped };
}

async function readBareSafetensors(path: string, hints: SaeImportHints): Promise<ImportedSae> {
  const file = await readSafetensors(path);
  const tensors: ImportedSae["tensors"] = {};
  for (const [name, t] of file.tensors) {
    if ([...WEIGHTS, "threshold"].includes(name) && t.data instanceof Float32Array) {
      tensors[name] = { shape: t.shape, data: t.data };
    }
  }
  const cfg = ourConfig(path, "bare safetensors", tensors, {
    dIn: hints.dIn,
    hook: hints.hook === undefined ? undefined : canonicalHookName(hints.hook, hints.blockLayer),
    blockLayer: hints.blockLayer,
    model: "",
    extra: {},
  });
  return { format: "bare safetensors", cfg, tensors, kept: [], unmapped: [] };
}

// -- our cfg.json --------------------------------------------------------------------------------

interface ConfigParts {
  dIn?: number;
  hook?: string;
  blockLayer?: number;
  model: string;
  architecture?: string;
  k?: number;
  extra: Record<string, unknown>;
}

/** Checks the weights' shapes against each other (and d_in when known) and builds cfg.json. */
function ourConfig(
  path: string,
  format: ForeignFormat,
  tensors: ImportedSae["tensors"],
  p: ConfigParts,
): Record<string, unknown> {
  for (const w of WEIGHTS) {
    if (!tensors[w]) {
      throw new SaeImportError(
        path,
        `no ${w} tensor (found: ${Object.keys(tensors).join(", ") || "none"})`,
      );
    }
  }
  const [dIn, dSae] = tensors.W_enc.shape;
  const want: Record<string, number[]> = {
    W_enc: [dIn, dSae],
    b_enc: [dSae],
    W_dec: [dSae, dIn],
    b_dec: [dIn],
  };
  for (const w of WEIGHTS) {
    if (tensors[w].shape.join(",") !== want[w].join(",")) {
      throw new SaeImportError(path, `${w} has shape [${tensors[w].shape}], expected [${want[w]}]`);
    }
  }
  if (p.dIn !== undefined && p.dIn !== dIn) {
    throw new SaeImportError(path, `d_in ${p.dIn} was given but W_enc is [${dIn}, ${dSae}]`);
  }
  const architecture = tensors.threshold
    ? "jumprelu"
    : p.architecture === "topk"
    ? "topk"
    : "standard";
  if (architecture === "topk" && !(p.k && p.k >= 1)) {
    throw new SaeImportError(path, "architecture topk without k");
  }
  return {
    d_in: dIn,
    d_sae: dSae,
    architecture,
    activation_fn_str: architecture === "topk" ? "topk" : "relu",
    activation_fn_kwargs: architecture === "topk" ? { k: p.k } : {},
    ...(architecture === "topk" ? { k: p.k } : {}),
    ...(p.hook === undefined ? {} : { hook_name: p.hook }),
    hook_layer: p.blockLayer ?? 0,
    hook_head_index: null,
    apply_b_dec_to_input: true,
    normalize_activations: "none",
    dtype: "float32",
    device: "cpu",
    model_name: p.model,
    model: p.model || null,
    block_layer: p.blockLayer ?? null,
    imported_from: { path, format },
    ...p.extra,
  };
}

// -- small readers --------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

async function readJsonIfAny(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return undefined;
  }
  try {
    const v = JSON.parse(text);
    if (!isRecord(v)) throw new Error("not a JSON object");
    return v;
  } catch (e) {
    throw new SaeImportError(path, `not valid JSON (${(e as Error).message})`);
  }
}

function numberOf(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function stringOf(v: unknown): string | undefined {
  return typeof v === "string" && v !== "" ? v : undefined;
}
