/**
 * REVE then the SAE on a batch of trials of an in-memory set, leaving the hook activations x, the
 * SAE activations z and the reconstructions x̂ on the GPU ([B, C·p, ·], tokens channel-major) for
 * the feature statistics and the probe to reduce there.
 */
import { CommandBatch, createTensor, type Tensor } from "../gpu/mod.ts";
import { lookupPositions } from "../data/montage.ts";
import type { TrialSet } from "../data/trials.ts";
import { patchCount } from "../reve/config.ts";
import { outputName, parseOutputName } from "../reve/hooks.ts";
import type { ReveModel } from "../reve/model.ts";
import type { AnalysisSae } from "./analysis_sae.ts";
import { EegSaeError } from "../util/errors.ts";

export class ActivationRunnerError extends EegSaeError {}

/** GPU tensors of one batch; `release` destroys them. */
export interface RunnerOutput {
  /** [B, T, d_in] hook activations. */
  x: Tensor<"f32">;
  /** [B, T, d_sae] SAE activations. */
  z: Tensor<"f32">;
  /** [B, T, d_in] SAE reconstructions. */
  xHat: Tensor<"f32">;
  release(): void;
}

/** What the feature and probe pipelines need: activations of any trials of the set, on the GPU. */
export interface ActivationRunner {
  readonly dIn: number;
  readonly dSae: number;
  readonly channels: number;
  readonly patches: number;
  /** C·p. */
  readonly tokensPerTrial: number;
  /** Activations of the given trials (indices into the set), in that order. */
  run(trials: readonly number[]): Promise<RunnerOutput>;
}

/**
 * Trials per GPU pass: the request, capped so one pass's [B, T, d_sae] activations fit a storage
 * binding and the per-batch metadata of the statistics kernel.
 */
export function trialsPerPass(
  runner: ActivationRunner,
  requested: number,
  maxBindingBytes: number,
  maxTrials: number,
): number {
  const perTrial = runner.tokensPerTrial * Math.max(runner.dSae, runner.dIn) * 4;
  const fit = Math.floor(maxBindingBytes / perTrial);
  if (fit < 1) {
    throw new ActivationRunnerError(
      `one trial's activations (${runner.tokensPerTrial} tokens × ${runner.dSae} features) exceed ` +
        `the adapter's storage binding limit of ${maxBindingBytes} bytes`,
    );
  }
  return Math.max(1, Math.min(requested, fit, maxTrials));
}

/** REVE at `hook` (e.g. `blocks.-2.hook_resid_post`) followed by the SAE. */
export function reveSaeRunner(
  model: ReveModel,
  sae: AnalysisSae,
  set: TrialSet,
  hook: string,
): ActivationRunner {
  const cfg = model.config;
  if (cfg.embedDim !== sae.dIn) {
    throw new ActivationRunnerError(
      `the SAE reads d_in ${sae.dIn} but REVE's embed_dim is ${cfg.embedDim}`,
    );
  }
  const name = outputName(parseOutputName(hook, cfg.depth));
  const channels = set.channels.length;
  const patches = patchCount(cfg, set.samples);
  const tokens = channels * patches;
  const pos = Float32Array.from(lookupPositions(set.channels));
  const per = channels * set.samples;
  return {
    dIn: sae.dIn,
    dSae: sae.dSae,
    channels,
    patches,
    tokensPerTrial: tokens,
    async run(trials) {
      const eeg = new Float32Array(trials.length * per);
      trials.forEach((t, b) => eeg.set(set.eeg.subarray(t * per, (t + 1) * per), b * per));
      const outputs = await model.forwardGpu(
        {
          eeg,
          batch: trials.length,
          channels,
          samples: set.samples,
          pos,
          channelNames: set.channels,
          firstTrial: trials[0],
        },
        { outputs: [name] },
      );
      const x = outputs.get(name)! as Tensor<"f32">;
      const z = createTensor(model.gpu, [trials.length, tokens, sae.dSae], "f32", "analysis.z");
      const xHat = createTensor(
        model.gpu,
        [trials.length, tokens, sae.dIn],
        "f32",
        "analysis.xhat",
      );
      const batch = new CommandBatch(model.gpu, "analysis sae");
      sae.encodeDecode(batch, x, z, xHat);
      await batch.submit();
      return {
        x,
        z,
        xHat,
        release() {
          for (const t of [x, z, xHat]) t.buffer.destroy();
        },
      };
    },
  };
}
