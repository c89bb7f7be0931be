/**
 * Where a `--model` lives: a folder with config.json and model.safetensors, or a HuggingFace hub
 * name (`brain-bzh/reve-base`) looked up, without any network, in the cache the `transformers`
 * library fills (`$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`:
 * `models--brain-bzh--reve-base/snapshots/<revision>/`, the revision `refs/main` names first),
 * then in a local folder of that name.
 */
import { join } from "node:path";
import { EegSaeError } from "../util/errors.ts";

export class ModelNotFoundError extends EegSaeError {}

const HUB_NAME = /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/;
const MODEL_FILES = ["config.json", "model.safetensors"];

/** The HuggingFace hub cache folders `transformers` would read, most specific first. */
export function hubCacheDirs(env: (name: string) => string | undefined = Deno.env.get): string[] {
  const dirs: string[] = [];
  const hubCache = env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE");
  if (hubCache) dirs.push(hubCache);
  const hfHome = env("HF_HOME") ??
    join(env("XDG_CACHE_HOME") ?? join(env("HOME") ?? "~", ".cache"), "huggingface");
  dirs.push(join(hfHome, "hub"));
  return [...new Set(dirs)];
}

async function hasModelFiles(dir: string): Promise<boolean> {
  for (const f of MODEL_FILES) {
    const stat = await Deno.stat(join(dir, f)).catch(() => undefined);
    if (!stat?.isFile) return false;
  }
  return true;
}

/** The snapshot of `name` in one cache folder: refs/main's revision, else the newest complete one. */
async function cachedSnapshot(cache: string, name: string): Promise<string | undefined> {
  const repo = join(cache, `models--${name.replace("/", "--")}`);
  const snapshots = join(repo, "snapshots");
  const main = (await Deno.readTextFile(join(repo, "refs", "main")).catch(() => "")).trim();
  if (main && await hasModelFiles(join(snapshots, main))) return join(snapshots, main);
  const found: { dir: string; mtime: number }[] = [];
  try {
    for await (const e of Deno.readDir(snapshots)) {
      const dir = join(snapshots, e.name);
      if (e.isDirectory && await hasModelFiles(dir)) {
        found.push({ dir, mtime: (await Deno.stat(dir)).mtime?.getTime() ?? 0 });
      }
    }
  } catch {
    return undefined;
  }
  return found.sort((a, b) => b.mtime - a.mtime)[0]?.dir;
}

/** The folder holding the model's config.json and model.safetensors. */
export async function resolveModelDir(
  model: string,
  env: (name: string) => string | undefined = Deno.env.get,
): Promise<string> {
  const hub = HUB_NAME.test(model);
  const caches = hub ? hubCacheDirs(env) : [];
  for (const cache of caches) {
    const snapshot = await cachedSnapshot(cache, model);
    if (snapshot) return snapshot;
  }
  if (await hasModelFiles(model)) return model;
  if (!hub) {
    throw new ModelNotFoundError(
      `${model}: no config.json and model.safetensors there (a REVE folder in HuggingFace layout, ` +
        `or a hub name such as brain-bzh/reve-base)`,
    );
  }
  throw new ModelNotFoundError(
    `REVE model ${model} is neither in the HuggingFace cache (looked in ` +
      `${caches.map((c) => join(c, `models--${model.replace("/", "--")}`)).join(", ")}) nor a ` +
      `folder ${model}/ with config.json and model.safetensors. It is a gated model: accept its ` +
      `licence on https://huggingface.co/${model} (log in, "Agree and access repository"), then ` +
      `run \`huggingface-cli login\` and ` +
      `\`huggingface-cli download ${model} config.json model.safetensors\`, and give --model ${model} again.`,
  );
}
