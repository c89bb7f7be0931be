/**
 * Reads and validates the run folder the site is built from (`EEG_SAE_SITE_RUN`, set by
 * `deno task site`), once per build: what the server-rendered pages (overview, classes, the page
 * shells) show. Feature and trial files reach the pages as data files (site/tools/site_data.ts).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type FeatureIndex,
  parseTrainLog,
  type ProbeResult,
  type RunInfo,
  type SaeCfg,
  type TrainLogRow,
  validateFeatureIndex,
  validateProbeResult,
  validateRunInfo,
  validateSaeCfg,
} from "../../../schema/run_folder.ts";
import { EegSaeError } from "../../../compute/util/errors.ts";

export class SiteDataError extends EegSaeError {}

/** Environment variable naming the run folder to build from. */
export const RUN_ENV = "EEG_SAE_SITE_RUN";

export interface SiteRun {
  dir: string;
  /** Title: run.json's name, else the folder name. */
  title: string;
  run: RunInfo | null;
  cfg: SaeCfg | null;
  log: TrainLogRow[];
  index: FeatureIndex;
  probes: ProbeResult[];
}

let cached: SiteRun | undefined;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new SiteDataError(`${path}: cannot read as JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
}

/** The run being built (read and validated once per build). */
export function siteRun(): SiteRun {
  const dir = process.env[RUN_ENV];
  if (!dir) throw new SiteDataError(`${RUN_ENV} is not set: build the site with deno task site`);
  if (cached?.dir === dir) return cached;
  const at = (rel: string) => join(dir, rel);
  const optional = <T>(rel: string, validate: (v: unknown, file: string) => T): T | null =>
    existsSync(at(rel)) ? validate(readJson(at(rel)), at(rel)) : null;
  if (!existsSync(at("features/index.json"))) {
    throw new SiteDataError(
      `${at("features/index.json")} is missing: run deno task features for this run first`,
    );
  }
  const index = validateFeatureIndex(
    readJson(at("features/index.json")),
    at("features/index.json"),
  );
  const run = optional("run.json", validateRunInfo);
  const probeDir = at("probe");
  const probes = existsSync(probeDir)
    ? readdirSync(probeDir).filter((f) => f.endsWith(".json")).sort().map((f) =>
      validateProbeResult(readJson(join(probeDir, f)), join(probeDir, f))
    )
    : [];
  cached = {
    dir,
    title: run?.name ?? dir.split("/").filter((s) => s !== "").at(-1) ?? dir,
    run,
    cfg: optional("sae/cfg.json", validateSaeCfg),
    log: existsSync(at("train_log.jsonl"))
      ? parseTrainLog(readFileSync(at("train_log.jsonl"), "utf8"), at("train_log.jsonl"))
      : [],
    index,
    probes,
  };
  return cached;
}
