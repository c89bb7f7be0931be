/**
 * A deterministic BCIC2a-shaped motor-imagery generator with planted, known class structure.
 *
 * Each trial is 22 channels at their real positions: a 1/f background (shared and per-channel
 * pink noise with a white floor), a posterior alpha rhythm, mu (≈8–13 Hz) and beta (≈13–30 Hz)
 * rhythms generated at the hand and foot areas (C3, C4, Cz) and spread to neighbours by
 * distance, and occasional eye blinks on frontal channels. The class is planted as a change of mu/beta
 * amplitude from 0.5 s after the start of the window (full effect from 1.5 s): event-related
 * desynchronisation (ERD) at C4 for the left hand, at C3 for the right hand, at Cz for the feet,
 * and bilateral mu synchronisation (ERS) at C3 and C4 for the tongue. Subjects differ in gain,
 * rhythm frequencies and ERD depth; sessions in gain; trials in effect depth (some trials carry
 * none). `groundTruth` says all of this in a JSON file next to the data.
 *
 * Every (subject, session) has its own seeded stream, so a smaller set (fewer subjects or trials)
 * is a prefix-compatible slice of the full one.
 */
import { BCIC2A_CHANNELS, BCIC2A_CLASS_NAMES, lookupPositions } from "./montage.ts";
import { Rng } from "./rng.ts";
import type { Split, TrialMeta } from "./trials.ts";
import { EegSaeError } from "../util/errors.ts";

export const SYNTHETIC_GENERATOR = "eeg-sae synthetic motor imagery v1";

export interface SyntheticOptions {
  seed: number;
  subjects: number;
  /** Trials of each class per session (BCIC2a: 72, so 288 per session). */
  trialsPerClass: number;
  sfreq: number;
  /** Trial length in seconds (BCIC2a's usual 2–6 s window: 4). */
  seconds: number;
}

export const SYNTHETIC_DEFAULTS: SyntheticOptions = {
  seed: 2026,
  subjects: 9,
  trialsPerClass: 72,
  sfreq: 200,
  seconds: 4,
};

export const SESSIONS = ["T", "E"] as const;

export class SyntheticOptionsError extends EegSaeError {}

/** Keys are `A{subject:02}{session}-{run}-{trial}`, so at most 99 subjects. */
export function checkSyntheticOptions(o: SyntheticOptions): void {
  const bad = (what: string) => {
    throw new SyntheticOptionsError(`synthetic data: ${what}`);
  };
  if (!Number.isInteger(o.subjects) || o.subjects < 1 || o.subjects > 99) {
    bad(`subjects must be an integer 1–99, got ${o.subjects}`);
  }
  if (!Number.isInteger(o.trialsPerClass) || o.trialsPerClass < 1) {
    bad(`trials per class must be a positive integer, got ${o.trialsPerClass}`);
  }
  if (!(o.sfreq >= 100)) bad(`sampling rate must be ≥ 100 Hz (beta reaches 30 Hz), got ${o.sfreq}`);
  if (!(o.seconds >= 2)) {
    bad(`trials must last ≥ 2 s (the effect ramps in by 1.5 s), got ${o.seconds}`);
  }
  if (!Number.isInteger(o.seed)) bad(`seed must be an integer, got ${o.seed}`);
}

/** When the planted effect ramps in, in seconds from the start of the trial window. */
const ONSET_S: [number, number] = [0.5, 1.5];
const SPREAD_M = 0.03;
const BANDS = { mu: [8, 13], beta: [13, 30], alpha: [8, 13] } as const;

type Band = "mu" | "beta";
interface Effect {
  channel: "C3" | "C4" | "Cz";
  band: Band;
  /** Amplitude multiplier at full effect for a depth-1 subject is 1 + gain·depth. */
  kind: "ERD" | "ERS";
  /** Fraction of the subject's depth this effect uses. */
  weight: number;
}

const CLASS_EFFECTS: Effect[][] = [
  [ // left hand: contralateral (right hemisphere) ERD, weak ipsilateral
    { channel: "C4", band: "mu", kind: "ERD", weight: 1 },
    { channel: "C4", band: "beta", kind: "ERD", weight: 0.7 },
    { channel: "C3", band: "mu", kind: "ERD", weight: 0.2 },
  ],
  [ // right hand
    { channel: "C3", band: "mu", kind: "ERD", weight: 1 },
    { channel: "C3", band: "beta", kind: "ERD", weight: 0.7 },
    { channel: "C4", band: "mu", kind: "ERD", weight: 0.2 },
  ],
  [ // feet: vertex ERD
    { channel: "Cz", band: "mu", kind: "ERD", weight: 1 },
    { channel: "Cz", band: "beta", kind: "ERD", weight: 0.8 },
  ],
  [ // tongue: bilateral hand-area mu ERS (focal ERD / surround ERS)
    { channel: "C3", band: "mu", kind: "ERS", weight: 0.8 },
    { channel: "C4", band: "mu", kind: "ERS", weight: 0.8 },
  ],
];

const SOURCES = ["C3", "C4", "Cz"] as const;

export interface SubjectParams {
  subject: number;
  gain: number;
  mu_hz: number;
  beta_hz: number;
  alpha_hz: number;
  /** ERD depth: fraction of rhythm amplitude removed at full effect. */
  erd_depth: number;
  session_gain: Record<string, number>;
}

export interface SyntheticGroundTruth {
  generator: string;
  options: SyntheticOptions;
  channels: string[];
  classes: string[];
  bands_hz: Record<string, readonly number[]>;
  effect_onset_s: [number, number];
  effect_window_s: [number, number];
  class_effects: {
    label: number;
    name: string;
    effects: {
      channel: string;
      band: Band;
      band_hz: readonly number[];
      kind: string;
      weight: number;
    }[];
  }[];
  spatial_spread_m: number;
  null_trial_fraction: number;
  subjects: SubjectParams[];
  splits: Record<Split, number[]>;
  background: string;
}

const NULL_TRIAL_FRACTION = 0.1;

export function subjectParams(seed: number, subject: number): SubjectParams {
  const rng = new Rng(seed * 7919 + subject * 104729);
  return {
    subject,
    gain: rng.uniform(0.7, 1.4),
    mu_hz: rng.uniform(9, 12.5),
    beta_hz: rng.uniform(17, 25),
    alpha_hz: rng.uniform(8.5, 11.5),
    erd_depth: rng.uniform(0.35, 0.75),
    session_gain: { T: rng.uniform(0.9, 1.1), E: rng.uniform(0.9, 1.1) },
  };
}

/** Subjects per split: CBraMod's 5/2/2 for nine subjects, scaled for fewer (all train below 3). */
export function syntheticSplits(subjects: number): Record<Split, number[]> {
  const ids = Array.from({ length: subjects }, (_, i) => i + 1);
  if (subjects < 3) return { train: ids, val: [], test: [] };
  const held = Math.max(1, Math.round((2 * subjects) / 9));
  return {
    train: ids.slice(0, subjects - 2 * held),
    val: ids.slice(subjects - 2 * held, subjects - held),
    test: ids.slice(subjects - held),
  };
}

export function groundTruth(options: SyntheticOptions): SyntheticGroundTruth {
  return {
    generator: SYNTHETIC_GENERATOR,
    options,
    channels: [...BCIC2A_CHANNELS],
    classes: [...BCIC2A_CLASS_NAMES],
    bands_hz: { ...BANDS },
    effect_onset_s: ONSET_S,
    effect_window_s: [ONSET_S[1], options.seconds],
    class_effects: CLASS_EFFECTS.map((effects, label) => ({
      label,
      name: BCIC2A_CLASS_NAMES[label],
      effects: effects.map((e) => ({ ...e, band_hz: BANDS[e.band] })),
    })),
    spatial_spread_m: SPREAD_M,
    null_trial_fraction: NULL_TRIAL_FRACTION,
    subjects: Array.from(
      { length: options.subjects },
      (_, i) => subjectParams(options.seed, i + 1),
    ),
    splits: syntheticSplits(options.subjects),
    background: "shared + per-channel pink noise (~8 uV, with a white floor), posterior alpha, " +
      "eye blinks (0.15/s, 60-120 uV at Fz) on frontal channels",
  };
}

/** Spatial weights `[source][channel]` for the mu/beta sources, alpha and blinks. */
interface Montage {
  sources: Float64Array[];
  alpha: Float64Array;
  blink: Float64Array;
}

function montageWeights(): Montage {
  const pos = lookupPositions([...BCIC2A_CHANNELS]);
  const C = BCIC2A_CHANNELS.length;
  const at = (name: string) => BCIC2A_CHANNELS.indexOf(name);
  const gauss = (ref: number, sigma: number) => {
    const w = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let d2 = 0;
      for (let k = 0; k < 3; k++) d2 += (pos[c * 3 + k] - pos[ref * 3 + k]) ** 2;
      w[c] = Math.exp(-d2 / (2 * sigma * sigma));
    }
    return w;
  };
  const fz = at("Fz");
  const blink = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    // Blinks fall off from the front (y is anterior).
    blink[c] = Math.exp(-Math.max(0, pos[fz * 3 + 1] - pos[c * 3 + 1]) / 0.025);
  }
  return {
    sources: SOURCES.map((s) => gauss(at(s), SPREAD_M)),
    alpha: gauss(at("POz"), 0.04),
    blink,
  };
}

/** Pink-noise state (Paul Kellet's economy filter), started in its stationary distribution. */
class Pink {
  #b = [0, 0, 0];
  static readonly POLES = [0.99765, 0.963, 0.57];
  static readonly GAINS = [0.099046, 0.2965164, 1.0526913];
  static readonly STD = 2.232;
  constructor(rng: Rng) {
    for (let i = 0; i < 3; i++) {
      this.#b[i] = rng.normal() * Pink.GAINS[i] / Math.sqrt(1 - Pink.POLES[i] ** 2);
    }
  }
  next(w: number): number {
    const b = this.#b;
    b[0] = Pink.POLES[0] * b[0] + w * Pink.GAINS[0];
    b[1] = Pink.POLES[1] * b[1] + w * Pink.GAINS[1];
    b[2] = Pink.POLES[2] * b[2] + w * Pink.GAINS[2];
    return (b[0] + b[1] + b[2] + w * 0.1848) / Pink.STD;
  }
}

/** A rhythm with a wandering phase and slowly varying amplitude, times an envelope. */
function rhythm(
  rng: Rng,
  out: Float64Array,
  hz: number,
  fs: number,
  amplitude: number,
  envelope: (t: number) => number,
): void {
  let phase = rng.uniform(0, 2 * Math.PI);
  let slow = rng.normal() * 0.2;
  const step = (2 * Math.PI * hz) / fs;
  // Uniform innovations (variance matched to the normal ones) are cheaper and look the same
  // after the integration below.
  const u = Math.sqrt(12);
  for (let t = 0; t < out.length; t++) {
    phase += step * (1 + 0.03 * u * (rng.next() - 0.5));
    slow = 0.995 * slow + 0.02 * u * (rng.next() - 0.5);
    out[t] = amplitude * (1 + slow) * envelope(t / fs) * Math.cos(phase);
  }
}

function ramp(t: number): number {
  if (t <= ONSET_S[0]) return 0;
  if (t >= ONSET_S[1]) return 1;
  return (t - ONSET_S[0]) / (ONSET_S[1] - ONSET_S[0]);
}

export interface SyntheticTrial extends TrialMeta {
  eeg: Float32Array;
}

/** Generates the trials of one (subject, session) in recording order. */
export function* sessionTrials(
  options: SyntheticOptions,
  subject: number,
  session: string,
): Generator<SyntheticTrial> {
  const { sfreq: fs, trialsPerClass } = options;
  const T = Math.round(options.seconds * fs);
  const C = BCIC2A_CHANNELS.length;
  const montage = sessionMontage();
  const params = subjectParams(options.seed, subject);
  const rng = new Rng(options.seed * 7919 + subject * 131 + (session === "E" ? 17 : 3));
  const labels: number[] = [];
  for (let k = 0; k < trialsPerClass; k++) labels.push(0, 1, 2, 3);
  rng.shuffle(labels);
  const splits = syntheticSplits(options.subjects);
  const split = (["train", "val", "test"] as Split[]).find((s) => splits[s].includes(subject));
  const gain = params.gain * params.session_gain[session];
  const src = new Float64Array(T);
  const acc = new Float64Array(C * T);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    acc.fill(0);
    // Background: a shared pink component (volume conduction) plus per-channel pink noise.
    const shared = new Pink(rng);
    for (let t = 0; t < T; t++) src[t] = 4 * shared.next(rng.normal());
    for (let c = 0; c < C; c++) {
      const pink = new Pink(rng);
      for (let t = 0; t < T; t++) {
        acc[c * T + t] = src[t] + 7 * pink.next(rng.normal());
      }
    }
    // Posterior alpha, unrelated to the class.
    rhythm(rng, src, params.alpha_hz, fs, 6, () => 1);
    addSpread(acc, src, montage.alpha, T);
    // Mu and beta at C3, C4, Cz, modulated by the class.
    const performs = rng.next() >= NULL_TRIAL_FRACTION;
    const depth = performs ? params.erd_depth * Math.max(0, 1 + 0.25 * rng.normal()) : 0;
    SOURCES.forEach((name, s) => {
      for (const band of ["mu", "beta"] as Band[]) {
        let change = 0;
        for (const e of CLASS_EFFECTS[label]) {
          if (e.channel === name && e.band === band) {
            change += (e.kind === "ERD" ? -1 : 1) * e.weight * depth;
          }
        }
        const hz = band === "mu" ? params.mu_hz : params.beta_hz;
        const amplitude = band === "mu" ? 7 : 3.5;
        rhythm(rng, src, hz, fs, amplitude, (t) => Math.max(0, 1 + change * ramp(t)));
        addSpread(acc, src, montage.sources[s], T);
      }
    });
    // Eye blinks: Poisson, 0.15 per second, ~100 uV at Fz.
    for (let t = 0; t < T; t++) {
      if (rng.next() < 0.15 / fs) {
        const amp = rng.uniform(60, 120);
        const width = 0.08 * fs;
        for (let u = Math.max(0, t - 3 * width); u < Math.min(T, t + 3 * width); u++) {
          const v = amp * Math.exp(-(((u - t) / width) ** 2));
          for (let c = 0; c < C; c++) acc[c * T + u] += montage.blink[c] * v;
        }
      }
    }
    const eeg = new Float32Array(C * T);
    for (let k = 0; k < eeg.length; k++) eeg[k] = gain * acc[k];
    const run = Math.floor(i / 48);
    yield {
      key: `A${String(subject).padStart(2, "0")}${session}-${run}-${i % 48}`,
      label,
      subject,
      session,
      split,
      eeg,
    };
  }
}

let cachedMontage: Montage | undefined;
function sessionMontage(): Montage {
  cachedMontage ??= montageWeights();
  return cachedMontage;
}

function addSpread(acc: Float64Array, src: Float64Array, weights: Float64Array, T: number): void {
  for (let c = 0; c < weights.length; c++) {
    const w = weights[c];
    if (w < 1e-3) continue;
    for (let t = 0; t < T; t++) acc[c * T + t] += w * src[t];
  }
}

/** Every trial of the dataset: subjects in order, session T then E. */
export function* syntheticTrials(options: SyntheticOptions): Generator<SyntheticTrial> {
  for (let s = 1; s <= options.subjects; s++) {
    for (const session of SESSIONS) yield* sessionTrials(options, s, session);
  }
}
