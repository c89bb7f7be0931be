/**
 * Builds the static report site from one or more run folders with Astro's programmatic `build()`.
 * One run: the site is `out/`. Several runs: each run is `out/<run folder name>/` (its own base
 * path, so every feature keeps a stable URL) and `out/index.html` lists them.
 */
import { basename, join, resolve } from "node:path";
import { lookupPositions } from "../../compute/data/montage.ts";
import { writeFileAtomic } from "../../compute/io/atomic.ts";
import {
  type FeatureIndex,
  type TrialTable,
  validateFeatureIndex,
} from "../../schema/run_folder.ts";
import { requireOutputManifest, writeOutputFolder } from "../../compute/io/output_folder.ts";
import { RUN_ENV } from "../src/lib/run_data.ts";
import { escapeHtml } from "../src/lib/escape.ts";
import { buildSearchIndex } from "../src/lib/search_index.ts";
import { readTrialTable, writeSiteData } from "./site_data.ts";
import { writeShellPages } from "./page_shells.ts";
import { EegSaeError } from "../../compute/util/errors.ts";

export class SiteBuildError extends EegSaeError {}

export const SITE_ROOT = resolve(new URL("..", import.meta.url).pathname);
export const DEFAULT_OUT = join(SITE_ROOT, "dist");

export interface SiteBuildOptions {
  /** Run folders (`runs/NAME`). */
  runs: string[];
  /** Output folder; default `site/dist`. */
  out?: string;
  /** `info` shows Astro's build log; `quiet` only shows it when the build fails. */
  logLevel?: "info" | "quiet";
}

export interface RunBuildReport {
  run: string;
  /** Folder of this run's pages and its URL base path. */
  dir: string;
  base: string;
  features: number;
  alive: number;
  pages: number;
  trial_pages: number;
  bytes: number;
  /** Bytes of the feature pages alone (`features/`), the part that grows with d_sae. */
  feature_bytes: number;
  /** Median bytes of an alive feature's page. */
  feature_page_median: number;
  /** Bytes of the trial pages (`trials/`) and of the data files (`data/`). */
  trial_bytes: number;
  data_bytes: number;
  seconds: number;
}

export interface SiteBuildReport {
  out: string;
  runs: RunBuildReport[];
}

/** Folder-safe, URL-safe name of a run. */
export function runSlug(dir: string): string {
  return basename(resolve(dir)).replace(/[^A-Za-z0-9._-]+/g, "-") || "run";
}

async function writeRunList(dir: string, reports: RunBuildReport[]): Promise<void> {
  const items = reports.map((r) =>
    `<li><a href="${r.base}">${
      escapeHtml(basename(r.run))
    }</a> (${r.alive} alive of ${r.features} features)</li>`
  ).join("\n");
  await writeFileAtomic(
    join(dir, "index.html"),
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>EEG-SAE runs</title></head><body style="font:16px/1.5 system-ui,sans-serif;max-width:800px;margin:2rem auto;padding:0 1rem"><h1>EEG-SAE runs</h1><ul>${items}</ul></body></html>\n`,
  );
}

export async function buildSite(opts: SiteBuildOptions): Promise<SiteBuildReport> {
  if (opts.runs.length === 0) throw new SiteBuildError("no run folder given (--run runs/NAME)");
  const out = resolve(opts.out ?? DEFAULT_OUT);
  const slugs = opts.runs.map(runSlug);
  const dup = slugs.find((s, i) => slugs.indexOf(s) !== i);
  if (dup) throw new SiteBuildError(`two runs share the folder name "${dup}"; rename one`);
  // Every input is checked before anything is written.
  const indexes: FeatureIndex[] = [];
  const tables: TrialTable[] = [];
  for (const run of opts.runs) {
    const index = await readRunIndex(resolve(run));
    indexes.push(index);
    tables.push(await readTrialTable(resolve(run), index));
  }
  const inputs: Record<string, string> = {};
  opts.runs.forEach((run, i) => inputs[i === 0 ? "run" : `run#${i + 1}`] = run);
  const reports = await writeOutputFolder(
    out,
    { madeBy: "site", flag: "--out", inputs },
    async (tmp) => {
      const built: RunBuildReport[] = [];
      for (const [i, run] of opts.runs.entries()) {
        const single = opts.runs.length === 1;
        const dir = single ? tmp : join(tmp, slugs[i]);
        const base = single ? "/" : `/${slugs[i]}/`;
        const report = await buildRun(
          resolve(run),
          indexes[i],
          tables[i],
          dir,
          base,
          opts.logLevel ?? "quiet",
        );
        built.push({ ...report, dir: single ? out : join(out, slugs[i]) });
      }
      if (opts.runs.length > 1) await writeRunList(tmp, built);
      return built;
    },
  );
  return { out, runs: reports };
}

/** A run's feature index, from a complete `features/` folder only. */
async function readRunIndex(run: string): Promise<FeatureIndex> {
  const indexPath = join(run, "features", "index.json");
  await requireOutputManifest(join(run, "features"), "features");
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(indexPath));
  } catch (e) {
    throw new SiteBuildError(
      `${indexPath}: ${(e as Error).message} (run deno task features first)`,
    );
  }
  return validateFeatureIndex(raw, indexPath);
}

async function buildRun(
  run: string,
  index: FeatureIndex,
  trials: TrialTable,
  outDir: string,
  base: string,
  logLevel: SiteBuildOptions["logLevel"],
): Promise<RunBuildReport> {
  const xyz = lookupPositions(index.channels);
  const positions = index.channels.map((_, c) => [xyz[3 * c], xyz[3 * c + 1], xyz[3 * c + 2]]);
  const t0 = performance.now();
  // Astro builds its server modules in site/.astro and removes them after a successful build; a
  // failed or killed build leaves them there, and the next build would copy them into its output.
  await Deno.remove(join(SITE_ROOT, ".astro"), { recursive: true }).catch((e) => {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  });
  // Astro runs in its own Deno process: its working directory must be the site (it keeps build
  // chunks under ./.astro when outDir lies elsewhere) and no state leaks between runs.
  const astro = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(SITE_ROOT, "tools", "astro_build.ts"),
      SITE_ROOT,
      outDir,
      base,
      logLevel ?? "quiet",
    ],
    cwd: SITE_ROOT,
    env: {
      [RUN_ENV]: run,
      ASTRO_TELEMETRY_DISABLED: "1",
    },
    stdout: logLevel === "info" ? "inherit" : "piped",
    stderr: "piped",
  });
  const result = await astro.output();
  if (!result.success) {
    const text = new TextDecoder();
    const log = (text.decode(result.stdout ?? new Uint8Array()) + text.decode(result.stderr))
      .trim();
    const lines = log.split("\n").filter((l) => !/^\s+at\s/.test(l)).slice(-12);
    throw new SiteBuildError(`astro build of ${run} failed:\n${lines.join("\n")}`);
  }
  // Server-build modules Astro sometimes leaves at the output's top level (content-*.mjs,
  // chunks/): a static site has no pages by those names and runs no server code.
  for await (const e of Deno.readDir(outDir)) {
    if ((e.isFile && e.name.endsWith(".mjs")) || (e.isDirectory && e.name === "chunks")) {
      await Deno.remove(join(outDir, e.name), { recursive: true });
    }
  }
  const data = await writeSiteData(run, index, positions, outDir);
  await writeFileAtomic(
    join(outDir, "search.json"),
    JSON.stringify(buildSearchIndex(index, trials)),
  );
  const shells = await writeShellPages(outDir, base, index, trials);
  const seconds = (performance.now() - t0) / 1000;
  const { files, bytes } = await folderSize(outDir);
  return {
    run,
    dir: outDir,
    base,
    features: index.d_sae,
    alive: index.n_alive,
    pages: files.filter((f) => f.endsWith(".html")).length,
    trial_pages: shells.trialPages,
    bytes,
    feature_bytes: shells.featureBytes,
    feature_page_median: shells.featureMedianBytes,
    trial_bytes: shells.trialBytes,
    data_bytes: data.bytes,
    seconds,
  };
}

/** Every file under `dir` (relative paths) and their total size. */
export async function folderSize(dir: string): Promise<{ files: string[]; bytes: number }> {
  const files: string[] = [];
  let bytes = 0;
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      if (e.isDirectory) await walk(p, join(rel, e.name));
      else if (e.isFile) {
        files.push(join(rel, e.name));
        bytes += (await Deno.stat(p)).size;
      }
    }
  };
  await walk(dir, "");
  return { files, bytes };
}
