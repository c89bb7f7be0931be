/**
 * `deno task features`: load the inputs, analyse every feature, write feature_data.npz, the trial
 * store (every trial's EEG and activation summary, in chunks) and the site JSON.
 */
import { Progress } from "../util/progress.ts";
import type { ScalingMode, Split } from "../data/trials.ts";
import { loadAnalysisInputs } from "./analysis_inputs.ts";
import { analyseFeatures } from "./features.ts";
import { writeFeatureOutputs } from "./feature_writers.ts";
import { TrialStoreWriter } from "./trial_store_writer.ts";
import { beginOutputFolder, type OutputSpec } from "../io/output_folder.ts";

export interface FeaturesTaskOptions {
  saeDir: string;
  modelDir: string;
  dbPath: string;
  split: Split | "all";
  out: string;
  /** Default: the scaling recorded in the SAE's cfg.json. */
  scaling?: ScalingMode;
  hook?: string;
  /** Block of a short-form hook (default: the SAE's). */
  blockLayer?: number;
  batchSize: number;
  topK: number;
  /** Top trials per feature whose token activations the detail files carry. */
  siteTopTrials: number;
  /** Trials per chunk of the trial store (`eeg/<k>.bin`, `trial_acts/<k>.json`). */
  trialChunkSize: number;
  neighbours: number;
  chunkSize: number;
  classNames: string[];
  skipBad: boolean;
}

export async function runFeaturesTask(o: FeaturesTaskOptions): Promise<void> {
  const target: OutputSpec = {
    madeBy: "features",
    flag: "--out",
    inputs: { sae: o.saeDir, model: o.modelDir, db_path: o.dbPath },
  };
  const output = await beginOutputFolder(o.out, target);
  let inputs;
  try {
    inputs = await loadAnalysisInputs(o);
  } catch (e) {
    await output.abort();
    throw e;
  }
  try {
    const { set, runner, model, sae } = inputs;
    const bars = new Map<string, Progress>();
    const store = new TrialStoreWriter(output.dir, set, o.trialChunkSize);
    const analysis = await analyseFeatures(runner, set, o.classNames.length, {
      batchSize: o.batchSize,
      topK: o.topK,
      patchSize: model.config.patchSize,
      patchOverlap: model.config.patchOverlap,
      onTrialActs: (acts) => store.add(acts),
      onProgress(pass, done, total) {
        if (!bars.has(pass)) bars.set(pass, new Progress(pass, total, { unit: "batches" }));
        const bar = bars.get(pass)!;
        bar.tick(1);
        if (done === total) bar.finish();
      },
    });
    const alive = [];
    for (let f = 0; f < sae.dSae; f++) if (analysis.stats.alive[f]) alive.push(f);
    const near = sae.decoderNeighbours(alive, o.neighbours);
    const neighbours: { id: number; cosine: number }[][] = Array.from(
      { length: sae.dSae },
      () => [],
    );
    alive.forEach((f, i) => neighbours[f] = near[i]);
    const written = await writeFeatureOutputs(output.dir, analysis, set, {
      classNames: o.classNames,
      siteTopTrials: o.siteTopTrials,
      trialStore: store.finish(),
      neighbours,
      chunkSize: sae.dSae > 2048 ? o.chunkSize : 0,
      settings: {
        sae: o.saeDir,
        model: o.modelDir,
        db_path: o.dbPath,
        split: o.split,
        hook: inputs.hook,
        preprocessing: set.preprocessing,
        top_k: o.topK,
        batch_size: o.batchSize,
      },
    });
    await output.commit();
    const r = analysis.reconstruction;
    console.log(
      `features: ${set.n} trials, ${alive.length}/${sae.dSae} alive; MSE ${
        r.mse.toPrecision(4)
      }, ` +
        `explained variance ${r.explainedVariance.toFixed(4)}, L0 ${r.l0.toFixed(2)}; ` +
        `${written.featureFiles} feature files, ${store.layout.n_chunks} trial chunks in ${o.out}`,
    );
  } catch (e) {
    await output.abort();
    throw e;
  } finally {
    inputs.dispose();
  }
}
