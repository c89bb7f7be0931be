/**
 * Reads and validates the run folder the site is built from (`EEG_SAE_SITE_RUN`, set by
 * `deno task site`). The index is read once; feature and trial files are read per page, so
 * memory stays flat however many features the run has.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  type FeatureChunk,
  type FeatureDetail,
  featureFilePath,
  type FeatureIndex,
  parseTrainLog,
  type ProbeResult,
  type ReportShape,
  type RunInfo,
  type SaeCfg,
  shapeOf,
  type TrainLogRow,
  type TrialDetail,
  validateFeatureChunk,
  validateFeatureDetail,
  validateFeatureIndex,
  validateProbeResult,
  validateRunInfo,
  validateSaeCfg,
  validateTrialDetail,
} from "../../../compute/analysis/report_types.ts";

export class SiteDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SiteDataError";
  }
}

/** Environment variable naming the run folder to build from. */
export const RUN_ENV = "EEG_SAE_SITE_RUN";
/** Environment variable holding the run's electrode positions as JSON `[[x, y, z], ...]`
 * (metres, in `features/index.json` channel order), looked up in the position bank by the build
 * driver: the bank's path cannot be resolved from inside the bundled pages. */
export const POSITIONS_ENV = "EEG_SAE_SITE_POSITIONS";

export interface SiteRun {
  dir: string;
  /** Title: run.json's name, else the folder name. */
  title: string;
  run: RunInfo | null;
  cfg: SaeCfg | null;
  log: TrainLogRow[];
  index: FeatureIndex;
  shape: ReportShape;
  /** Electrode xyz (metres) per channel of the index. */
  positions: number[][];
  probes: ProbeResult[];
}

let cached: SiteRun | undefined;

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new SiteDataError(`${path}: cannot read as JSON: ${(e as Error).message}`);
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
    shape: shapeOf(index),
    positions: electrodePositions(index.channels.length),
    probes,
  };
  return cached;
}

function electrodePositions(nChannels: number): number[][] {
  const raw = process.env[POSITIONS_ENV];
  if (!raw) {
    throw new SiteDataError(`${POSITIONS_ENV} is not set: build the site with deno task site`);
  }
  const xyz: unknown = JSON.parse(raw);
  if (
    !Array.isArray(xyz) || xyz.length !== nChannels ||
    xyz.some((p) => !Array.isArray(p) || p.length !== 3 || p.some((v) => typeof v !== "number"))
  ) {
    throw new SiteDataError(`${POSITIONS_ENV} must hold ${nChannels} [x, y, z] positions`);
  }
  return xyz as number[][];
}

let lastChunk: { path: string; chunk: FeatureChunk } | undefined;

/** The detail of alive feature `id` (pages are built in id order, so one cached chunk suffices). */
export function featureDetail(id: number): FeatureDetail {
  const { dir, index, shape } = siteRun();
  const path = join(dir, "features", featureFilePath(index.layout, id));
  if (!existsSync(path)) throw new SiteDataError(`${path} is missing (feature ${id} is alive)`);
  if (index.layout.kind === "per_feature") {
    return validateFeatureDetail(readJson(path), shape, path);
  }
  if (lastChunk?.path !== path) {
    lastChunk = { path, chunk: validateFeatureChunk(readJson(path), shape, path) };
  }
  const found = lastChunk.chunk.features.find((f) => f.id === id);
  if (!found) throw new SiteDataError(`${path}: has no entry for alive feature ${id}`);
  return found;
}

/** Trial files recently read: the top trials of neighbouring features overlap a lot. */
const TRIAL_CACHE_SIZE = 32;
const trialCache = new Map<number, TrialDetail | null>();

/** The trial explorer file of trial `i`, or null when the run did not write one. */
export function trialDetail(i: number): TrialDetail | null {
  const hit = trialCache.get(i);
  if (hit !== undefined) return hit;
  const { dir, shape } = siteRun();
  const path = join(dir, "features", "trials", `${i}.json`);
  const detail = existsSync(path) ? validateTrialDetail(readJson(path), shape, path) : null;
  if (trialCache.size >= TRIAL_CACHE_SIZE) trialCache.delete(trialCache.keys().next().value!);
  trialCache.set(i, detail);
  return detail;
}

/** Raw EEG of a trial from its trial file (for top trials stored without inline EEG). */
export function trialEeg(i: number): number[][] | null {
  return trialDetail(i)?.eeg ?? null;
}
