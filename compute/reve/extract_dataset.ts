/**
 * Extraction over a dataset source (LMDB or GDF): the trials are loaded, preprocessed to what REVE
 * expects (200 Hz and the chosen scaling, recorded in the output), run through the model B at a
 * time and the hook at `block_layer` is written as activation shards (activation_shards.ts).
 */
import { lookupPositions } from "../data/montage.ts";
import { openTrialSource, sourceInputs, type SourceSpec } from "../data/open_source.ts";
import { preprocessTrialSet, REVE_SFREQ } from "../data/preprocess.ts";
import { loadTrialSet, type ScalingMode } from "../data/trials.ts";
import { type ActivationIndex, ActivationShardWriter } from "./activation_shards.ts";
import { patchCount, toConfigJson } from "./config.ts";
import {
  canonicalHookName,
  HookNameError,
  outputName,
  outputShape,
  parseOutputName,
} from "./hooks.ts";
import { loadReve } from "./model.ts";
import { checkOutputTarget, type OutputSpec, writeOutputFolder } from "../io/output_folder.ts";

export interface DatasetExtractOptions {
  model: string;
  source: SourceSpec;
  /** Output folder for the shards and index.json. */
  out: string;
  /** Python-style block index; −2 is the earlier Python pipeline's default. */
  blockLayer: number;
  /** A hook point (`resid_post`, `mlp.hook_mlp_out`, ...) or a full name, ours or the earlier pipeline's. */
  hook: string;
  scaling: ScalingMode;
  bandpass?: [number, number] | null;
  euclideanAlignment?: boolean;
  /** Trials per forward. */
  batchSize: number;
  trialsPerShard: number;
  log?: (line: string) => void;
}

/** Runs the extraction; returns the index written. */
export async function extractDataset(opts: DatasetExtractOptions): Promise<ActivationIndex> {
  const log = opts.log ?? (() => {});
  const target: OutputSpec = {
    madeBy: "extract",
    flag: "--out",
    inputs: { model: opts.model, ...sourceInputs(opts.source) },
  };
  await checkOutputTarget(opts.out, target);
  const source = await openTrialSource(opts.source);
  let set;
  try {
    set = await loadTrialSet(source);
  } finally {
    source.close();
  }
  set = preprocessTrialSet(set, {
    sfreq: REVE_SFREQ,
    bandpass: opts.bandpass ?? null,
    scaling: opts.scaling,
    euclideanAlignment: opts.euclideanAlignment ?? false,
  });
  const pos = new Float32Array(lookupPositions(set.channels));
  const model = await loadReve(opts.model);
  try {
    const cfg = model.config;
    const full = canonicalHookName(opts.hook, opts.blockLayer);
    const request = parseOutputName(full, cfg.depth);
    if (request.kind !== "block" || request.point === "attn.hook_pattern") {
      throw new HookNameError(`"${full}" is not a per-token hook; choose e.g. hook_resid_post`);
    }
    const hook = outputName(request);
    const C = set.channels.length;
    const patches = patchCount(cfg, set.samples);
    const shape = outputShape(request, cfg, 1, C, patches);
    const d = shape.slice(2).reduce((a, b) => a * b, 1);
    return await writeOutputFolder(opts.out, target, async (dir) => {
      const writer = new ActivationShardWriter(dir, {
        hook,
        d,
        channels: set.channels,
        patches,
        samples: set.samples,
        tokens_per_trial: C * patches,
        token_order: "trial-major; inside a trial channel-major: row c·patches + i",
        model: { path: opts.model, config: toConfigJson(cfg) },
        preprocessing: set.preprocessing,
        trials: {
          key: set.keys,
          label: [...set.labels],
          subject: [...set.subjects],
          session: set.sessions,
        },
      }, opts.trialsPerShard);
      const per = C * set.samples;
      for (let from = 0; from < set.n; from += opts.batchSize) {
        const to = Math.min(set.n, from + opts.batchSize);
        const out = await model.forward({
          eeg: set.eeg.subarray(from * per, to * per) as Float32Array<ArrayBuffer>,
          batch: to - from,
          channels: C,
          samples: set.samples,
          pos,
          channelNames: set.channels,
          firstTrial: from,
        }, { outputs: [hook] });
        await writer.add(out.get(hook)!, Array.from({ length: to - from }, (_, k) => from + k));
        log(`extract: ${to}/${set.n} trials`);
      }
      return await writer.finish();
    });
  } finally {
    model.dispose();
  }
}
