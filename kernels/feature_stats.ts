/**
 * Bindings for shaders/feature_stats.wgsl: per-feature statistics and reconstruction sums
 * accumulated on the GPU over batches of whole trials, read back once at the end. The CPU
 * reference is compute/analysis/feature_stats.ts (`addBatch`, `addReconstructionBatch`), which
 * produces the same totals; `gatherTopRef` is the reference of the top-trial token gather.
 */
import {
  type Binding,
  type CommandBatch,
  createTensor,
  type Dispatch,
  type Gpu,
  readback,
  ShapeError,
  type Tensor,
  type UniformFields,
  uniformFields,
} from "../compute/gpu/mod.ts";
import {
  emptyReconstructionTotals,
  emptyTotals,
  type FeatureStatsShape,
  type FeatureStatsTotals,
  HISTOGRAM_BINS,
  HISTOGRAM_LOG10_HIGH,
  HISTOGRAM_LOG10_LOW,
  type ReconstructionTotals,
  TRIAL_RECON_WIDTH,
} from "./feature_stats_layout.ts";
import { requireF32 } from "./checks.ts";

/** Trials per accumulate call (the size of the per-trial metadata uniform). */
export const MAX_TRIALS_PER_BATCH = 128;

export interface FeatureStatsGpuShape extends FeatureStatsShape {
  dIn: number;
  /** Trials in the whole analysed set (trial ids are 0..setTrials−1). */
  setTrials: number;
}

/** The histogram constants prepended to feature_stats.wgsl. */
export const FEATURE_STATS_HEADER = [
  `const HIST_BINS: u32 = ${HISTOGRAM_BINS}u;`,
  `const HIST_LOW: f32 = ${HISTOGRAM_LOG10_LOW.toFixed(6)};`,
  `const HIST_WIDTH: f32 = ${
    ((HISTOGRAM_LOG10_HIGH - HISTOGRAM_LOG10_LOW) / HISTOGRAM_BINS).toFixed(9)
  };`,
].join("\n");

/** The accumulators of one analysed set, on the GPU. */
export class FeatureStatsGpu {
  readonly sums: Tensor<"f32">;
  readonly counts: Tensor<"u32">;
  readonly top: Tensor<"u32">;
  readonly recon: Tensor<"f32">;
  #gathered: Tensor<"f32"> | null = null;
  #classTrials: Float64Array;
  #nTrials = 0;

  constructor(readonly gpu: Gpu, readonly shape: FeatureStatsGpuShape) {
    const { dSae: f, nClasses: k, tokensPerTrial: t, topK, dIn, setTrials } = shape;
    if (topK < 1 || f < 1 || t < 1 || k < 1) {
      throw new ShapeError(`feature stats: invalid shape ${JSON.stringify(shape)}`);
    }
    this.sums = createTensor(gpu, [f * (1 + k + t)], "f32", "feature_stats.sums");
    this.counts = createTensor(gpu, [f * (2 + HISTOGRAM_BINS)], "u32", "feature_stats.counts");
    const top = new Uint32Array(3 * f * topK);
    top.fill(0xffffffff, f * topK); // trial and token slots start empty (−1); values start at 0
    this.top = createTensor(gpu, [3 * f * topK], "u32", "feature_stats.top", top);
    this.recon = createTensor(
      gpu,
      [dIn + TRIAL_RECON_WIDTH * setTrials],
      "f32",
      "feature_stats.recon",
    );
    this.#classTrials = new Float64Array(k);
  }

  #params(nTrials: number): UniformFields {
    const { dSae: f, nClasses: k, tokensPerTrial: t, topK, dIn, setTrials } = this.shape;
    return uniformFields({
      n_trials: nTrials,
      tokens: t,
      d_sae: f,
      n_classes: k,
      top_k: topK,
      d_in: dIn,
      class_off: f,
      map_off: f * (1 + k),
      set_trials: setTrials,
    });
  }

  #meta(batch: CommandBatch, trialIds: Int32Array, labels: Int32Array): GPUBuffer {
    const m = new Int32Array(4 * MAX_TRIALS_PER_BATCH);
    trialIds.forEach((id, b) => {
      m[4 * b] = id;
      m[4 * b + 1] = labels[b];
    });
    return batch.uniform(m);
  }

  #check(what: string, z: Tensor, trialIds: Int32Array, labels: Int32Array, x?: Tensor): void {
    const { dSae: f, tokensPerTrial: t, dIn, nClasses, setTrials } = this.shape;
    const b = trialIds.length;
    const where = `feature_stats.${what}`;
    if (b < 1 || b > MAX_TRIALS_PER_BATCH || labels.length !== b) {
      throw new ShapeError(
        `${where}: 1..${MAX_TRIALS_PER_BATCH} trials with one label each, got ${b} ids and ` +
          `${labels.length} labels`,
      );
    }
    requireF32(where, x ? { z, x } : { z });
    if (z.size !== b * t * f) {
      throw new ShapeError(`${where}: z must hold [${b}, ${t}, ${f}], got [${z.shape}]`);
    }
    if (x && x.size !== b * t * dIn) {
      throw new ShapeError(`${where}: x must hold [${b}, ${t}, ${dIn}], got [${x.shape}]`);
    }
    for (let i = 0; i < b; i++) {
      if (trialIds[i] < 0 || trialIds[i] >= setTrials) {
        throw new ShapeError(`${where}: trial id ${trialIds[i]} is outside 0..${setTrials - 1}`);
      }
      if (labels[i] < 0 || labels[i] >= nClasses) {
        throw new ShapeError(
          `${where}: trial ${trialIds[i]} has label ${labels[i]}, outside 0..${nClasses - 1}`,
        );
      }
    }
  }

  #dispatch(
    batch: CommandBatch,
    entryPoint: string,
    bindings: Record<string, Binding>,
    workgroups: Dispatch["workgroups"],
    label: string,
  ): void {
    batch.dispatch({
      shader: "feature_stats.wgsl",
      entryPoint,
      header: FEATURE_STATS_HEADER,
      bindings: {
        sums: this.sums,
        counts: this.counts,
        top: this.top,
        recon: this.recon,
        ...bindings,
      },
      workgroups,
      label,
    });
  }

  /**
   * Records the accumulation of one batch of whole trials: z [B, T, F] activations, x and x̂
   * [B, T, d_in] the SAE input and reconstruction. Nothing is read back.
   */
  accumulate(
    batch: CommandBatch,
    z: Tensor,
    x: Tensor,
    xHat: Tensor,
    trialIds: Int32Array,
    labels: Int32Array,
  ): void {
    this.#check("accumulate", z, trialIds, labels, x);
    if (xHat.size !== x.size) {
      throw new ShapeError(
        `feature_stats.accumulate: x̂ [${xHat.shape}] differs from x [${x.shape}]`,
      );
    }
    const b = trialIds.length;
    const bindings = {
      params: this.#params(b),
      trial_meta: this.#meta(batch, trialIds, labels),
      z,
      x,
      xhat: xHat,
    };
    const { dSae: f, tokensPerTrial: t, dIn } = this.shape;
    this.#dispatch(
      batch,
      "accumulate",
      bindings,
      { invocations: f },
      `feature_stats.accumulate z[${b},${t},${f}]`,
    );
    this.#dispatch(
      batch,
      "reconstruction",
      bindings,
      [b],
      `feature_stats.reconstruction x[${b},${t},${dIn}]`,
    );
    this.#dispatch(
      batch,
      "input_sum",
      bindings,
      { invocations: dIn },
      `feature_stats.input_sum x[${b},${t},${dIn}]`,
    );
    labels.forEach((y) => this.#classTrials[y]++);
    this.#nTrials += b;
  }

  /**
   * Records the copy of each feature's activations over the tokens of its top trials that are in
   * this batch, into the [F, k, T] gather buffer. Run over the top trials after accumulation ended.
   */
  gatherTop(batch: CommandBatch, z: Tensor, trialIds: Int32Array): void {
    const labels = new Int32Array(trialIds.length);
    this.#check("gatherTop", z, trialIds, labels);
    const { dSae: f, tokensPerTrial: t, topK } = this.shape;
    this.#gathered ??= createTensor(this.gpu, [f * topK * t], "f32", "feature_stats.gathered");
    const b = trialIds.length;
    this.#dispatch(
      batch,
      "gather_top",
      {
        params: this.#params(b),
        trial_meta: this.#meta(batch, trialIds, labels),
        z,
        gathered: this.#gathered,
      },
      { invocations: f * topK },
      `feature_stats.gather_top z[${b},${t},${f}] k=${topK}`,
    );
  }

  /** Reads the accumulators back (once, at the end). */
  async readTotals(): Promise<
    { features: FeatureStatsTotals; reconstruction: ReconstructionTotals }
  > {
    const { dSae: f, nClasses: k, tokensPerTrial: t, topK, dIn, setTrials } = this.shape;
    const sums = await readback(this.gpu, this.sums);
    const counts = await readback(this.gpu, this.counts);
    const top = await readback(this.gpu, this.top);
    const recon = await readback(this.gpu, this.recon);
    const features = emptyTotals(this.shape);
    features.nTrials = this.#nTrials;
    features.classTrials.set(this.#classTrials);
    features.actSum.set(sums.subarray(0, f));
    features.classActSum.set(sums.subarray(f, f * (1 + k)));
    features.mapSum.set(sums.subarray(f * (1 + k), f * (1 + k + t)));
    features.firedTokens.set(counts.subarray(0, f));
    features.firedTrials.set(counts.subarray(f, 2 * f));
    features.histogram.set(counts.subarray(2 * f));
    const fk = f * topK;
    features.topValues.set(new Float32Array(top.buffer, 0, fk));
    features.topTrials.set(new Int32Array(top.buffer, fk * 4, fk));
    features.topTokens.set(new Int32Array(top.buffer, 2 * fk * 4, fk));
    const reconstruction = emptyReconstructionTotals(dIn, setTrials);
    reconstruction.sumX.set(recon.subarray(0, dIn));
    reconstruction.perTrial.set(recon.subarray(dIn));
    reconstruction.nTokens = this.#nTrials * t;
    for (let i = 0; i < setTrials; i++) {
      const row = dIn + TRIAL_RECON_WIDTH * i;
      reconstruction.sumSquaredError += recon[row];
      reconstruction.sumCosine += recon[row + 1];
      reconstruction.sumL0 += recon[row + 2];
      reconstruction.sumSquaredNorm += recon[row + 3];
    }
    return { features, reconstruction };
  }

  /** The gathered token activations [F, k, T] (zeros where a slot's trial was not gathered). */
  async readGathered(): Promise<Float32Array> {
    if (!this.#gathered) throw new ShapeError("feature_stats: gatherTop was never called");
    return await readback(this.gpu, this.#gathered);
  }

  destroy(): void {
    for (const t of [this.sums, this.counts, this.top, this.recon]) t.buffer.destroy();
    this.#gathered?.buffer.destroy();
  }
}

/** CPU reference of gatherTop: z [B, T, F] of the given trials into out [F, k, T]. */
export function gatherTopRef(
  totals: FeatureStatsTotals,
  z: Float32Array,
  trialIds: Int32Array,
  out: Float32Array,
): void {
  const { dSae: f, tokensPerTrial: t, topK } = totals;
  for (let i = 0; i < f * topK; i++) {
    const b = trialIds.indexOf(totals.topTrials[i]);
    if (totals.topTrials[i] < 0 || b < 0) continue;
    const feat = Math.floor(i / topK);
    for (let tok = 0; tok < t; tok++) out[i * t + tok] = z[(b * t + tok) * f + feat];
  }
}
