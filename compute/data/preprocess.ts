/**
 * Preprocessing to what REVE expects, on a `TrialSet`, in this order:
 * 1. resample to `sfreq` (200 Hz) with a polyphase windowed-sinc (Kaiser) low-pass: rational
 *    ratio L/M, cut-off just below the lower Nyquist so nothing aliases, mirrored edges;
 * 2. optional zero-phase band-pass (4th-order Butterworth, run forward and backward);
 * 3. scaling: `zscore_clip15` (per channel over each subject's session, clipped at ±15, as in
 *    REVE's pretraining), `uv_div100` (µV / 100, the authors' BCIC2a setup) or `none`;
 * 4. optional Euclidean alignment per subject (whiten by the mean trial covariance).
 * What was done is written into `TrialSet.preprocessing`.
 */
import type { ScalingMode, TrialSet } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

export class PreprocessError extends EegSaeError {}

export const SCALING_MODES: readonly ScalingMode[] = ["none", "zscore_clip15", "uv_div100"];
export const REVE_SFREQ = 200;
const CLIP = 15;

export interface PreprocessOptions {
  /** Target rate in Hz; the source rate keeps the data as it is. */
  sfreq: number;
  bandpass: [number, number] | null;
  scaling: ScalingMode;
  euclideanAlignment: boolean;
}

export function preprocessTrialSet(set: TrialSet, options: PreprocessOptions): TrialSet {
  const C = set.channels.length;
  let eeg = set.eeg;
  let samples = set.samples;
  let resampler: string | null = set.preprocessing.resampler;
  if (options.sfreq !== set.sfreq) {
    const r = new Resampler(set.sfreq, options.sfreq);
    const out = r.apply(eeg, set.n * C, samples);
    eeg = out.data;
    samples = out.samples;
    resampler = r.description;
  } else {
    eeg = eeg.slice();
  }
  if (options.bandpass) bandpassInPlace(eeg, set.n * C, samples, options.sfreq, options.bandpass);
  const out: TrialSet = {
    ...set,
    eeg,
    samples,
    sfreq: options.sfreq,
    preprocessing: {
      ...set.preprocessing,
      sfreq: options.sfreq,
      resampler,
      bandpass: options.bandpass,
      scaling: options.scaling,
      euclidean_alignment: options.euclideanAlignment,
      unit: options.scaling === "none"
        ? "uV"
        : options.scaling === "uv_div100"
        ? "uV/100"
        : "z-score",
    },
  };
  if (options.scaling === "zscore_clip15") zscoreClipPerSession(out);
  else if (options.scaling === "uv_div100") { for (let i = 0; i < eeg.length; i++) eeg[i] /= 100; }
  if (options.euclideanAlignment) euclideanAlignment(out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Resampling

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 50; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < 1e-12 * sum) break;
  }
  return sum;
}

/** Polyphase windowed-sinc resampler from `from` Hz to `to` Hz (a rational ratio). */
export class Resampler {
  readonly up: number;
  readonly down: number;
  /** Filter half-width in input samples. */
  readonly halfWidth: number;
  /** Cut-off in Hz. */
  readonly cutoffHz: number;
  /** `phases[p]` holds the 2·halfWidth taps for output phase p. */
  readonly phases: Float64Array[];

  constructor(readonly from: number, readonly to: number, halfWidth = 64, beta = 8) {
    const scale = 1000;
    const a = Math.round(from * scale), b = Math.round(to * scale);
    if (!(a > 0 && b > 0) || Math.abs(a - from * scale) > 1e-6 || Math.abs(b - to * scale) > 1e-6) {
      throw new PreprocessError(`cannot resample ${from} Hz → ${to} Hz: rates must be positive`);
    }
    const g = gcd(a, b);
    this.up = b / g;
    this.down = a / g;
    if (this.up > 1000 || this.down > 1000) {
      throw new PreprocessError(`${from} Hz → ${to} Hz needs a ratio ${this.up}/${this.down}`);
    }
    this.halfWidth = halfWidth;
    // 95% of the lower Nyquist: the Kaiser transition band then ends near the new Nyquist.
    this.cutoffHz = 0.95 * Math.min(from, to) / 2;
    const fc = this.cutoffHz / from; // cycles per input sample
    const i0b = besselI0(beta);
    this.phases = [];
    for (let p = 0; p < this.up; p++) {
      const frac = ((p * this.down) % this.up) / this.up;
      const taps = new Float64Array(2 * halfWidth);
      let sum = 0;
      for (let j = 0; j < taps.length; j++) {
        const x = frac - (j - halfWidth + 1); // distance from output time to input sample
        const r = x / halfWidth;
        const win = Math.abs(r) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - r * r)) / i0b;
        const arg = 2 * fc * x;
        const sinc = arg === 0 ? 1 : Math.sin(Math.PI * arg) / (Math.PI * arg);
        taps[j] = 2 * fc * sinc * win;
        sum += taps[j];
      }
      for (let j = 0; j < taps.length; j++) taps[j] /= sum; // unit DC gain per phase
      this.phases.push(taps);
    }
  }

  get description(): string {
    return `polyphase windowed-sinc ${this.from}→${this.to} Hz (L=${this.up}, M=${this.down}, ` +
      `Kaiser β=8, ${2 * this.halfWidth} taps/phase, cut-off ${this.cutoffHz.toFixed(1)} Hz)`;
  }

  outputLength(samples: number): number {
    return Math.floor((samples * this.up) / this.down);
  }

  /** Resamples `rows` signals of `samples` each (row-major). */
  apply(
    data: Float32Array,
    rows: number,
    samples: number,
  ): { data: Float32Array; samples: number } {
    const T = this.outputLength(samples);
    if (T < 1) throw new PreprocessError(`${samples} samples are too few to resample`);
    const out = new Float32Array(rows * T);
    const W = this.halfWidth;
    const mirror = (k: number) => {
      // Mirror about the end samples (no repeat), folding as often as needed for short rows.
      const period = 2 * (samples - 1);
      if (period === 0) return 0;
      k = ((k % period) + period) % period;
      return k < samples ? k : period - k;
    };
    for (let r = 0; r < rows; r++) {
      const x = data.subarray(r * samples, (r + 1) * samples);
      const y = out.subarray(r * T, (r + 1) * T);
      for (let m = 0; m < T; m++) {
        const pos = m * this.down;
        const k0 = Math.floor(pos / this.up);
        const taps = this.phases[m % this.up];
        const first = k0 - W + 1;
        let acc = 0;
        if (first >= 0 && first + 2 * W <= samples) {
          for (let j = 0; j < 2 * W; j++) acc += taps[j] * x[first + j];
        } else {
          for (let j = 0; j < 2 * W; j++) acc += taps[j] * x[mirror(first + j)];
        }
        y[m] = acc;
      }
    }
    return { data: out, samples: T };
  }
}

// ---------------------------------------------------------------------------------------------
// Band-pass

interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/** One 2nd-order section (RBJ cookbook) with quality factor `q`. */
function section(kind: "low" | "high", hz: number, fs: number, q: number): Biquad {
  const w = (2 * Math.PI * hz) / fs;
  const alpha = Math.sin(w) / (2 * q);
  const cos = Math.cos(w);
  const a0 = 1 + alpha;
  const b1 = kind === "low" ? 1 - cos : -(1 + cos);
  const b0 = kind === "low" ? (1 - cos) / 2 : (1 + cos) / 2;
  return { b0: b0 / a0, b1: b1 / a0, b2: b0 / a0, a1: (-2 * cos) / a0, a2: (1 - alpha) / a0 };
}

function runBiquad(f: Biquad, x: Float64Array): void {
  // Start in the steady state of the first sample so the padded edge does not ring.
  const x0 = x[0];
  const dc = (f.b0 + f.b1 + f.b2) / (1 + f.a1 + f.a2);
  let x1 = x0, x2 = x0, y1 = dc * x0, y2 = dc * x0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i];
    const yi = f.b0 * xi + f.b1 * x1 + f.b2 * x2 - f.a1 * y1 - f.a2 * y2;
    x2 = x1;
    x1 = xi;
    y2 = y1;
    y1 = yi;
    x[i] = yi;
  }
}

/** 4th-order Butterworth as two sections (Q = 1/(2·cos(π/8)) and 1/(2·cos(3π/8))). */
function butterworth4(kind: "low" | "high", hz: number, fs: number): Biquad[] {
  return [Math.PI / 8, (3 * Math.PI) / 8].map((a) => section(kind, hz, fs, 1 / (2 * Math.cos(a))));
}

/** Zero-phase band-pass: 4th-order Butterworth high- and low-pass, run forward and backward. */
export function bandpassInPlace(
  data: Float32Array,
  rows: number,
  samples: number,
  fs: number,
  [lo, hi]: [number, number],
): void {
  if (!(lo >= 0 && hi > lo && hi < fs / 2)) {
    throw new PreprocessError(`band-pass ${lo}–${hi} Hz must satisfy 0 ≤ low < high < ${fs / 2}`);
  }
  const sections = [
    ...(lo > 0 ? butterworth4("high", lo, fs) : []),
    ...butterworth4("low", hi, fs),
  ];
  // Odd reflection padding of ~3 periods of the lowest edge hides the edges' transients.
  const pad = Math.min(samples - 1, Math.ceil((3 * fs) / Math.max(lo, 1)));
  const buf = new Float64Array(samples + 2 * pad);
  for (let r = 0; r < rows; r++) {
    const x = data.subarray(r * samples, (r + 1) * samples);
    for (let i = 0; i < pad; i++) {
      buf[pad - 1 - i] = 2 * x[0] - x[i + 1];
      buf[pad + samples + i] = 2 * x[samples - 1] - x[samples - 2 - i];
    }
    for (let i = 0; i < samples; i++) buf[pad + i] = x[i];
    for (const s of sections) {
      runBiquad(s, buf);
      buf.reverse();
      runBiquad(s, buf);
      buf.reverse();
    }
    for (let i = 0; i < samples; i++) x[i] = buf[pad + i];
  }
}

// ---------------------------------------------------------------------------------------------
// Scaling and alignment

function groupsBy(set: TrialSet, key: (i: number) => string): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  for (let i = 0; i < set.n; i++) {
    const k = key(i);
    let g = groups.get(k);
    if (!g) groups.set(k, g = []);
    g.push(i);
  }
  return groups;
}

/** Per channel over each (subject, session): (x − mean) / std, clipped at ±15. */
function zscoreClipPerSession(set: TrialSet): void {
  const C = set.channels.length, T = set.samples;
  for (const trials of groupsBy(set, (i) => `${set.subjects[i]}/${set.sessions[i]}`).values()) {
    for (let c = 0; c < C; c++) {
      let sum = 0, sq = 0;
      for (const i of trials) {
        const row = set.eeg.subarray((i * C + c) * T, (i * C + c + 1) * T);
        for (let t = 0; t < T; t++) sum += row[t];
      }
      const count = trials.length * T;
      const mean = sum / count;
      for (const i of trials) {
        const row = set.eeg.subarray((i * C + c) * T, (i * C + c + 1) * T);
        for (let t = 0; t < T; t++) sq += (row[t] - mean) ** 2;
      }
      const std = Math.sqrt(sq / count) || 1; // a flat channel stays at 0
      for (const i of trials) {
        const row = set.eeg.subarray((i * C + c) * T, (i * C + c + 1) * T);
        for (let t = 0; t < T; t++) {
          row[t] = Math.max(-CLIP, Math.min(CLIP, (row[t] - mean) / std));
        }
      }
    }
  }
}

/** Euclidean alignment: each subject's trials times R^{-1/2}, R = mean of X·Xᵀ/T. */
function euclideanAlignment(set: TrialSet): void {
  const C = set.channels.length, T = set.samples;
  for (const [subject, trials] of groupsBy(set, (i) => String(set.subjects[i]))) {
    const R = new Float64Array(C * C);
    for (const i of trials) {
      const x = set.eeg.subarray(i * C * T, (i + 1) * C * T);
      for (let a = 0; a < C; a++) {
        for (let b = a; b < C; b++) {
          let s = 0;
          for (let t = 0; t < T; t++) s += x[a * T + t] * x[b * T + t];
          R[a * C + b] += s / T / trials.length;
        }
      }
    }
    for (let a = 0; a < C; a++) for (let b = 0; b < a; b++) R[a * C + b] = R[b * C + a];
    const { values, vectors } = symmetricEigen(R, C);
    const maxEig = Math.max(...values);
    if (!(maxEig > 0) || values.some((v) => v <= maxEig * 1e-10)) {
      throw new PreprocessError(
        `Euclidean alignment: subject ${subject}'s mean covariance is singular (a flat or ` +
          `duplicated channel?)`,
      );
    }
    // W = V diag(λ^{-1/2}) Vᵀ
    const W = new Float64Array(C * C);
    for (let a = 0; a < C; a++) {
      for (let b = 0; b < C; b++) {
        let s = 0;
        for (let k = 0; k < C; k++) {
          s += vectors[a * C + k] * vectors[b * C + k] / Math.sqrt(values[k]);
        }
        W[a * C + b] = s;
      }
    }
    const tmp = new Float64Array(C * T);
    for (const i of trials) {
      const x = set.eeg.subarray(i * C * T, (i + 1) * C * T);
      tmp.fill(0);
      for (let a = 0; a < C; a++) {
        for (let k = 0; k < C; k++) {
          const w = W[a * C + k];
          for (let t = 0; t < T; t++) tmp[a * T + t] += w * x[k * T + t];
        }
      }
      for (let j = 0; j < x.length; j++) x[j] = tmp[j];
    }
  }
}

/** Cyclic Jacobi eigen-decomposition of a symmetric n×n matrix: A = V diag(λ) Vᵀ (columns of V). */
export function symmetricEigen(
  matrix: Float64Array,
  n: number,
): { values: number[]; vectors: Float64Array } {
  const A = matrix.slice();
  const V = new Float64Array(n * n);
  for (let i = 0; i < n; i++) V[i * n + i] = 1;
  let total = 0;
  for (let i = 0; i < n * n; i++) total += A[i] ** 2;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += A[p * n + q] ** 2;
    if (off <= 1e-28 * total) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = A[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (A[q * n + q] - A[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = A[k * n + p], akq = A[k * n + q];
          A[k * n + p] = c * akp - s * akq;
          A[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = A[p * n + k], aqk = A[q * n + k];
          A[p * n + k] = c * apk - s * aqk;
          A[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = V[k * n + p], vkq = V[k * n + q];
          V[k * n + p] = c * vkp - s * vkq;
          V[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  return { values: Array.from({ length: n }, (_, i) => A[i * n + i]), vectors: V };
}
