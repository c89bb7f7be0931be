/**
 * What `features` and `probe` both open: the trials (LMDB, one split or all, preprocessed to what
 * REVE expects), the REVE model, the trained SAE, and the runner that chains them on the GPU.
 */
import { resolve } from "node:path";
import { getGpu } from "../gpu/mod.ts";
import { LmdbSource } from "../data/lmdb_source.ts";
import { preprocessTrialSet, REVE_SFREQ } from "../data/preprocess.ts";
import { loadTrialSet, type ScalingMode, type Split, type TrialSet } from "../data/trials.ts";
import { loadReve, type ReveModel } from "../reve/model.ts";
import { canonicalHookName, hookLayer } from "../reve/hooks.ts";
import { type ActivationRunner, reveSaeRunner } from "./activation_runner.ts";
import { type AnalysisSae, type AnalysisSaeCfg, loadAnalysisSae } from "./analysis_sae.ts";
import { EegSaeError } from "../util/errors.ts";

export class AnalysisInputError extends EegSaeError {}

export interface AnalysisInputOptions {
  saeDir: string;
  modelDir: string;
  dbPath: string;
  /** A split of the database's `__keys__` (or key names), or all trials. */
  split: Split | "all";
  /** Signal scaling; by default the one recorded in the SAE's cfg.json (what it was trained on). */
  scaling?: ScalingMode;
  /** Hook to read (ours, the earlier pipeline's, or a short form); the SAE's `hook_name` by default. */
  hook?: string;
  /** Block of a short-form hook; the SAE's block by default. */
  blockLayer?: number;
  skipBad: boolean;
}

export interface AnalysisInputs {
  set: TrialSet;
  model: ReveModel;
  sae: AnalysisSae;
  saeCfg: AnalysisSaeCfg;
  hook: string;
  runner: ActivationRunner;
  dispose(): void;
}

/** Opens the database, selects the split and preprocesses it (200 Hz, the chosen scaling). */
export async function loadAnalysisTrials(
  dbPath: string,
  split: Split | "all",
  scaling: ScalingMode,
  skipBad: boolean,
): Promise<TrialSet> {
  const source = await LmdbSource.open(dbPath, { skipBad });
  try {
    const indices = split === "all"
      ? undefined
      : source.trials.flatMap((t, i) => (t.split === split ? [i] : []));
    if (indices && indices.length === 0) {
      throw new AnalysisInputError(
        `${dbPath}: no trials in split "${split}" (splits come from __keys__ or the key names; ` +
          `use --split all)`,
      );
    }
    const raw = await loadTrialSet(source, indices);
    return preprocessTrialSet(raw, {
      sfreq: REVE_SFREQ,
      bandpass: null,
      scaling,
      euclideanAlignment: false,
    });
  } finally {
    source.close();
  }
}

/** The scaling recorded in the SAE's cfg.json `preprocessing`, if any. */
export function trainedScaling(cfg: AnalysisSaeCfg): ScalingMode | undefined {
  if (typeof cfg.preprocessing !== "string") return undefined;
  try {
    const scaling = JSON.parse(cfg.preprocessing)?.scaling;
    return ["none", "zscore_clip15", "uv_div100"].includes(scaling) ? scaling : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the SAE was trained on (its cfg.json: hook, model, data) against what this command reads:
 * another hook is an error, another model or database a note on stderr (a moved folder is the
 * same model; a different one makes the features describe activations the SAE never saw).
 */
export function checkSaeProvenance(cfg: AnalysisSaeCfg, o: AnalysisInputOptions): void {
  const cfgPath = `${o.saeDir}/cfg.json`;
  if (o.hook !== undefined && cfg.hook_name && o.hook !== cfg.hook_name) {
    throw new AnalysisInputError(
      `--hook ${o.hook} differs from the hook the SAE was trained on (${cfg.hook_name}, from ` +
        `${cfgPath}); leave --hook out to use it`,
    );
  }
  const notes: string[] = [];
  if (
    typeof cfg.model === "string" && cfg.model !== "" && resolve(cfg.model) !== resolve(o.modelDir)
  ) {
    notes.push(`model ${cfg.model}, this command reads --model ${o.modelDir}`);
  }
  let source: unknown;
  try {
    source = typeof cfg.preprocessing === "string" ? JSON.parse(cfg.preprocessing)?.source : null;
  } catch {
    source = null;
  }
  const db = typeof source === "string" && source.startsWith("lmdb ") ? source.slice(5) : null;
  if (db && resolve(db) !== resolve(o.dbPath)) {
    notes.push(`data ${db}, this command reads --db_path ${o.dbPath}`);
  }
  if (notes.length > 0) {
    console.error(`note: the SAE (${cfgPath}) was trained on ${notes.join("; ")}`);
  }
}

export async function loadAnalysisInputs(o: AnalysisInputOptions): Promise<AnalysisInputs> {
  const gpu = await getGpu();
  const { sae, cfg } = await loadAnalysisSae(o.saeDir, gpu, o.hook);
  try {
    checkSaeProvenance(cfg, o);
  } catch (e) {
    sae.dispose();
    throw e;
  }
  const trained = trainedScaling(cfg);
  if (o.scaling && trained && o.scaling !== trained) {
    sae.dispose();
    throw new AnalysisInputError(
      `--scaling ${o.scaling} differs from the scaling the SAE in ${o.saeDir} was trained on ` +
        `(${trained}, from its cfg.json); leave --scaling out to use it`,
    );
  }
  const set = await loadAnalysisTrials(
    o.dbPath,
    o.split,
    o.scaling ?? trained ?? "zscore_clip15",
    o.skipBad,
  );
  const model = await loadReve(o.modelDir, gpu);
  const hook = canonicalHookName(
    o.hook ?? cfg.hook_name,
    o.blockLayer ?? hookLayer(cfg.hook_name),
  );
  const runner = reveSaeRunner(model, sae, set, hook);
  return {
    set,
    model,
    sae,
    saeCfg: cfg,
    hook,
    runner,
    dispose() {
      sae.dispose();
      model.dispose();
    },
  };
}
