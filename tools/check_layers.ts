/**
 * `deno task check-layers`: fails when a source file imports a folder that sits above its own
 * folder in the layer order (docs/ARCHITECTURE.md, "Layers"). Only relative imports are read;
 * package imports (`npm:`, bare names) are not layered.
 *
 * Usage: deno run --allow-read tools/check_layers.ts [ROOT]
 */
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Folders from the bottom up. A folder may import any folder of a lower layer and none of its own
 * layer or above, so the folders can never import each other in a cycle.
 */
export const LAYERS: readonly (readonly string[])[] = [
  ["compute/util"],
  ["schema", "compute/io"],
  ["compute/gpu", "compute/onnx"],
  ["kernels"],
  ["compute/data"],
  ["compute/reve"],
  ["compute/sae"],
  ["compute/analysis"],
  ["site/src/lib"],
  ["site/src/components", "site/src/layouts"],
  ["site/src/pages"],
  ["site/tools"],
  ["compute/bench"],
  ["compute/pipeline"],
  ["compute/cli"],
];

/**
 * Folders that may import only the folders listed, not everything below them: the site reads a
 * run folder through the schema alone, so the pages stay independent of how the pipeline works.
 * The builder also looks up electrode positions (compute/data) and writes atomically (compute/io);
 * compute/util (the error base class) imports nothing and may be used by all.
 */
export const NARROWED: Readonly<Record<string, readonly string[]>> = {
  "schema": ["compute/util"],
  "site/src/lib": ["schema", "compute/util"],
  "site/src/components": ["schema", "site/src/lib"],
  "site/src/layouts": ["schema", "site/src/lib"],
  "site/src/pages": ["schema", "site/src/lib", "site/src/components", "site/src/layouts"],
  "site/tools": ["schema", "site/src/lib", "compute/util", "compute/io", "compute/data"],
};

/** Source files the check reads. */
const SOURCE = /\.(ts|astro)$/;

export interface LayerViolation {
  /** Importing file, relative to the root. */
  file: string;
  /** The import specifier as written. */
  specifier: string;
  /** Why the import is not allowed. */
  reason: string;
}

/** The declared folder a path (relative to the root) belongs to: the longest matching prefix. */
export function folderOf(path: string): string | undefined {
  let best: string | undefined;
  for (const folder of LAYERS.flat()) {
    if (
      (path === folder || path.startsWith(folder + "/")) &&
      (best === undefined || folder.length > best.length)
    ) best = folder;
  }
  return best;
}

function layerOf(folder: string): number {
  return LAYERS.findIndex((layer) => layer.includes(folder));
}

/** Whether `from` may import `to` (both declared folders). */
export function mayImport(from: string, to: string): boolean {
  if (from === to) return true;
  const narrowed = NARROWED[from];
  if (narrowed) return narrowed.includes(to);
  return layerOf(to) < layerOf(from);
}

/** Relative specifiers of every static, re-export, side-effect and dynamic import in a source. */
export function relativeImports(source: string): string[] {
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?(?:[\w$*{}\s,]+?\s+from\s*)?["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const m of code.matchAll(pattern)) if (m[1].startsWith(".")) found.push(m[1]);
  }
  return found;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.isFile && SOURCE.test(entry.name)) yield path;
  }
}

/** Every import under the declared folders of `root` that goes against the layer order. */
export async function checkLayers(root: string): Promise<LayerViolation[]> {
  const base = resolve(root);
  const violations: LayerViolation[] = [];
  for (const folder of LAYERS.flat()) {
    for await (const path of sourceFiles(join(base, folder))) {
      const file = relative(base, path);
      // A folder nested in another declared folder is checked as itself.
      if (folderOf(file) !== folder) continue;
      for (const specifier of relativeImports(await Deno.readTextFile(path))) {
        const target = relative(base, resolve(dirname(path), specifier));
        const to = folderOf(target);
        if (to === undefined) {
          violations.push({
            file,
            specifier,
            reason: `${target} is in no declared layer (tools/check_layers.ts, LAYERS)`,
          });
        } else if (!mayImport(folder, to)) {
          violations.push({
            file,
            specifier,
            reason: `${folder} may not import ${to} (${
              NARROWED[folder] ? `only ${NARROWED[folder].join(", ")}` : "it is not below"
            })`,
          });
        }
      }
    }
  }
  return violations;
}

if (import.meta.main) {
  const root = Deno.args[0] ?? resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const violations = await checkLayers(root);
  for (const v of violations) console.error(`${v.file}: imports "${v.specifier}": ${v.reason}`);
  if (violations.length > 0) {
    console.error(`check-layers: ${violations.length} import(s) against the layer order`);
    Deno.exit(1);
  }
  console.log("check-layers: every import goes down the layer order");
}
