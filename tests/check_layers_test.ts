/** tools/check_layers.ts: upward imports fail in a temporary tree, and this repository passes. */
import assert from "node:assert/strict";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { checkLayers, LAYERS, mayImport, relativeImports } from "../tools/check_layers.ts";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Runs `check` on a temporary tree holding `files`, then removes the tree. */
async function withTree<T>(
  files: Record<string, string>,
  check: (root: string) => Promise<T>,
): Promise<T> {
  const root = await Deno.makeTempDir({ prefix: "check_layers_" });
  try {
    for (const [path, text] of Object.entries(files)) {
      await Deno.mkdir(dirname(join(root, path)), { recursive: true });
      await Deno.writeTextFile(join(root, path), text);
    }
    return await check(root);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("an import from a lower folder into a higher one is reported with both folders", async () => {
  await withTree({
    "compute/io/npy.ts": 'import { runCli } from "../cli/run_cli.ts";\nexport const a = runCli;\n',
    "compute/cli/run_cli.ts": 'import "../io/npy.ts";\nexport const runCli = 1;\n',
  }, async (root) => {
    const violations = await checkLayers(root);
    assert.deepEqual(violations.map((v) => [v.file, v.specifier]), [
      ["compute/io/npy.ts", "../cli/run_cli.ts"],
    ]);
    assert.match(violations[0].reason, /compute\/io may not import compute\/cli/);
  });
});

Deno.test("the command exits 1 on an upward import and names the file", async () => {
  await withTree({
    "kernels/stats.ts": 'export { x } from "../compute/analysis/stats.ts";\n',
    "compute/analysis/stats.ts": "export const x = 1;\n",
  }, async (root) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", join(REPO, "tools/check_layers.ts"), root],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /^kernels\/stats\.ts: imports/m);
  });
});

Deno.test("peers of one layer may not import each other, and the site reads only the schema", async () => {
  await withTree({
    "compute/gpu/device.ts": 'import { g } from "../onnx/graph.ts";\n',
    "compute/onnx/graph.ts": "export const g = 1;\n",
    "site/src/lib/run_data.ts": 'import type { X } from "../../../compute/data/trials.ts";\n' +
      'import type { RunInfo } from "../../../schema/run_folder.ts";\n',
    "compute/data/trials.ts": "export type X = number;\n",
    "schema/run_folder.ts": "export type RunInfo = number;\n",
    "compute/analysis/probe.ts": 'import type { RunInfo } from "../../schema/run_folder.ts";\n' +
      'import { t } from "../../tools/outside.ts";\n',
  }, async (root) => {
    const violations = await checkLayers(root);
    assert.deepEqual(violations.map((v) => v.file).sort(), [
      "compute/analysis/probe.ts",
      "compute/gpu/device.ts",
      "site/src/lib/run_data.ts",
    ]);
    const outside = violations.find((v) => v.file === "compute/analysis/probe.ts")!;
    assert.equal(outside.specifier, "../../tools/outside.ts");
    assert.match(outside.reason, /no declared layer/);
  });
});

Deno.test("imports are found across lines, in re-exports and dynamic imports, not in comments", () => {
  const source = [
    "import {",
    "  a,",
    "  type B,",
    '} from "./multi.ts";',
    'import type { C } from "../types.ts";',
    'export * from "./again.ts";',
    'import "./side_effect.ts";',
    'const m = await import("./dynamic.ts");',
    '// import { old } from "./commented.ts";',
    '/* import { older } from "./block.ts"; */',
    'import { npm } from "npm:fflate";',
    'const url = "https://example.org/x.ts";',
  ].join("\n");
  assert.deepEqual(relativeImports(source).sort(), [
    "../types.ts",
    "./again.ts",
    "./dynamic.ts",
    "./multi.ts",
    "./side_effect.ts",
  ]);
});

Deno.test("the declared order keeps io below kernels below sae below analysis below cli", () => {
  const order = ["compute/io", "kernels", "compute/sae", "compute/analysis", "compute/cli"];
  for (let i = 0; i < order.length; i++) {
    for (let j = 0; j < order.length; j++) {
      assert.equal(mayImport(order[i], order[j]), i >= j, `${order[i]} -> ${order[j]}`);
    }
  }
  assert.equal(new Set(LAYERS.flat()).size, LAYERS.flat().length, "a folder is in two layers");
});

Deno.test("this repository's imports follow the layer order", async () => {
  assert.deepEqual(await checkLayers(REPO), []);
});

Deno.test("docs/ARCHITECTURE.md's layer table lists the checked layers in the checked order", async () => {
  const doc = await Deno.readTextFile(join(REPO, "docs/ARCHITECTURE.md"));
  const rows = new Map<number, string[]>();
  for (const m of doc.matchAll(/^\| (\d+) +\| ([^|]+)\|/gm)) {
    const folders = [...m[2].matchAll(/`([^`]+)\/`/g)].map((f) => f[1]);
    rows.set(Number(m[1]), [...(rows.get(Number(m[1])) ?? []), ...folders]);
  }
  assert.deepEqual([...rows.values()].map((r) => r.sort()), LAYERS.map((l) => [...l].sort()));
});
