/**
 * Spectral signatures: which frequency bands of the input drive a feature. Band powers of the raw
 * input patches (Hann-windowed periodogram) at the feature's top activations are compared with the
 * dataset's average band power at the same channel, overall and for every channel.
 */
import { EegSaeError } from "../util/errors.ts";

export interface Band {
  name: string;
  lowHz: number;
  highHz: number;
}

/** delta 1–4, theta 4–8, mu/alpha 8–13, beta 13–30, gamma 30–45 Hz (low edge in, high edge out). */
export const EEG_BANDS: readonly Band[] = [
  { name: "delta", lowHz: 1, highHz: 4 },
  { name: "theta", lowHz: 4, highHz: 8 },
  { name: "mu_alpha", lowHz: 8, highHz: 13 },
  { name: "beta", lowHz: 13, highHz: 30 },
  { name: "gamma", lowHz: 30, highHz: 45 },
];

export class SpectralError extends EegSaeError {}

/**
 * Band powers of windows of a fixed length: DFT only at the bins inside the bands, with the
 * cos/sin tables built once. Powers are one-sided periodogram integrals, so a sine of amplitude A
 * inside a band contributes A²/2 to it.
 */
export class BandPowerEstimator {
  readonly bins: number[][];
  #cos: Float64Array[];
  #sin: Float64Array[];
  #window: Float64Array;
  #norm: number;

  constructor(
    readonly length: number,
    readonly sampleRate: number,
    readonly bands: readonly Band[] = EEG_BANDS,
  ) {
    if (length < 2) throw new SpectralError(`window length must be at least 2, got ${length}`);
    this.#window = new Float64Array(length);
    let sumSq = 0;
    for (let n = 0; n < length; n++) {
      this.#window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / length);
      sumSq += this.#window[n] ** 2;
    }
    // One-sided periodogram 2|X_k|²/(fs·Σw²) times the bin width fs/N.
    this.#norm = 2 / (sumSq * length);
    const df = sampleRate / length;
    this.bins = bands.map((b, i) => {
      const last = i === bands.length - 1;
      const ks: number[] = [];
      for (let k = 1; k < length / 2; k++) {
        const f = k * df;
        if (f >= b.lowHz && (f < b.highHz || (last && f <= b.highHz))) ks.push(k);
      }
      return ks;
    });
    this.#cos = [];
    this.#sin = [];
    for (const k of this.bins.flat()) {
      const c = new Float64Array(length);
      const s = new Float64Array(length);
      for (let n = 0; n < length; n++) {
        c[n] = Math.cos((2 * Math.PI * k * n) / length) * this.#window[n];
        s[n] = Math.sin((2 * Math.PI * k * n) / length) * this.#window[n];
      }
      this.#cos.push(c);
      this.#sin.push(s);
    }
  }

  /** Band powers of signal[offset, offset+length) (mean removed), written into out. */
  powers(signal: ArrayLike<number>, offset: number, out = new Float64Array(this.bands.length)) {
    if (offset < 0 || offset + this.length > signal.length) {
      throw new SpectralError(
        `window [${offset}, ${offset + this.length}) is outside the signal of ${signal.length}`,
      );
    }
    let mean = 0;
    for (let n = 0; n < this.length; n++) mean += signal[offset + n];
    mean /= this.length;
    out.fill(0);
    let t = 0;
    for (let b = 0; b < this.bins.length; b++) {
      for (let i = 0; i < this.bins[b].length; i++, t++) {
        const c = this.#cos[t];
        const s = this.#sin[t];
        let re = 0;
        let im = 0;
        for (let n = 0; n < this.length; n++) {
          const v = signal[offset + n] - mean;
          re += v * c[n];
          im += v * s[n];
        }
        out[b] += (re * re + im * im) * this.#norm;
      }
    }
    return out;
  }
}

/** Where REVE's patches lie in a trial: patch i covers samples [i·step, i·step + size). */
export interface PatchGeometry {
  channels: number;
  samples: number;
  patchSize: number;
  step: number;
  patches: number;
}

export function patchGeometry(
  channels: number,
  samples: number,
  patchSize: number,
  overlap: number,
): PatchGeometry {
  const step = patchSize - overlap;
  if (samples < patchSize || step <= 0) {
    throw new SpectralError(
      `cannot cut ${samples} samples into patches of ${patchSize} with overlap ${overlap}`,
    );
  }
  return {
    channels,
    samples,
    patchSize,
    step,
    patches: Math.floor((samples - patchSize) / step) + 1,
  };
}

/** A trial's EEG [channels, samples] row-major. */
export type TrialSignal = Float32Array | Float64Array;

/** Band powers of every patch of one trial: [channels, patches, bands]. */
export function trialPatchPowers(
  eeg: TrialSignal,
  geometry: PatchGeometry,
  estimator: BandPowerEstimator,
): Float64Array {
  const { channels, samples, patches, step } = geometry;
  if (eeg.length !== channels * samples) {
    throw new SpectralError(
      `trial has ${eeg.length} values, expected ${channels} channels × ${samples} samples`,
    );
  }
  const nb = estimator.bands.length;
  const out = new Float64Array(channels * patches * nb);
  const tmp = new Float64Array(nb);
  for (let c = 0; c < channels; c++) {
    const row = eeg.subarray(c * samples, (c + 1) * samples);
    for (let i = 0; i < patches; i++) {
      estimator.powers(row, i * step, tmp);
      out.set(tmp, (c * patches + i) * nb);
    }
  }
  return out;
}

/** Running mean band power per channel over every patch of the dataset: [channels, bands]. */
export class BandPowerBaseline {
  readonly sums: Float64Array;
  count = 0;

  constructor(readonly geometry: PatchGeometry, readonly nBands: number) {
    this.sums = new Float64Array(geometry.channels * nBands);
  }

  add(patchPowers: Float64Array): void {
    const { channels, patches } = this.geometry;
    for (let c = 0; c < channels; c++) {
      for (let i = 0; i < patches; i++) {
        for (let b = 0; b < this.nBands; b++) {
          this.sums[c * this.nBands + b] += patchPowers[(c * patches + i) * this.nBands + b];
        }
      }
    }
    this.count += patches;
  }

  /** Mean band power per channel [channels, bands]. */
  mean(): Float64Array {
    if (this.count === 0) throw new SpectralError("band-power baseline has no trials");
    return this.sums.map((s) => s / this.count);
  }
}

/** One top activation of a feature: the trial and the token (channel-major: c·patches + i). */
export interface TopActivation {
  trial: number;
  token: number;
}

export interface SpectralSignature {
  bands: string[];
  /** Mean band power at the top tokens / the baseline at their channels (1 = average), [bands]. */
  ratio: number[];
  /** Per channel at the top tokens' time patches: power / that channel's baseline, [C][bands]. */
  channelRatio: number[][];
  nActivations: number;
}

/**
 * The signature of one feature. patchPowersOf(trial) gives [channels, patches, bands] of that
 * trial (cache it: several features share top trials).
 */
export function spectralSignature(
  top: readonly TopActivation[],
  patchPowersOf: (trial: number) => Float64Array,
  baseline: Float64Array,
  geometry: PatchGeometry,
  bands: readonly Band[] = EEG_BANDS,
): SpectralSignature {
  if (top.length === 0) throw new SpectralError("a spectral signature needs top activations");
  const nb = bands.length;
  const { channels, patches } = geometry;
  const atTop = new Float64Array(nb);
  const baseAtTop = new Float64Array(nb);
  const perChannel = new Float64Array(channels * nb);
  for (const { trial, token } of top) {
    const c = Math.floor(token / patches);
    const i = token % patches;
    if (c >= channels) {
      throw new SpectralError(
        `token ${token} is outside ${channels} channels × ${patches} patches`,
      );
    }
    const p = patchPowersOf(trial);
    for (let b = 0; b < nb; b++) {
      atTop[b] += p[(c * patches + i) * nb + b];
      baseAtTop[b] += baseline[c * nb + b];
    }
    for (let ch = 0; ch < channels; ch++) {
      for (let b = 0; b < nb; b++) perChannel[ch * nb + b] += p[(ch * patches + i) * nb + b];
    }
  }
  const ratio = (x: number, ref: number) => (ref > 0 ? x / ref : 0);
  const n = top.length;
  return {
    bands: bands.map((b) => b.name),
    ratio: Array.from(atTop, (v, b) => ratio(v, baseAtTop[b])),
    channelRatio: Array.from(
      { length: channels },
      (_, ch) =>
        Array.from(
          { length: nb },
          (_, b) => ratio(perChannel[ch * nb + b] / n, baseline[ch * nb + b]),
        ),
    ),
    nActivations: n,
  };
}
