/**
 * One trial's SAE activations summarised for the trial explorer (`TrialActs` in
 * schema/run_folder.ts): its strongest features by summed activation, the rest of the rank/sum
 * curve at log-spaced ranks, each token's strongest feature, each channel's top features and
 * quantised in-trial maps of the first top features. A plain CPU reduction of the dense
 * activations z [T, d_sae] of one trial; the caller reads z back batch by batch.
 */
import {
  MAP_LEVELS,
  TRIAL_MAPPED_FEATURES,
  TRIAL_TOP_FEATURES,
  type TrialActs,
  type TrialFeatureTotal,
} from "../../schema/run_folder.ts";
import { round4 } from "./site_numbers.ts";

/** Points of the rank/sum curve kept after the top features. */
export const TAIL_POINTS = 48;
/** Top features kept per channel. */
export const CHANNEL_TOP_FEATURES = 10;

/**
 * 1-based ranks of the tail after `top` ranks: every rank when there are at most `points` of
 * them, else `points` log-spaced ranks from `top + 1` to `nActive` (both included).
 */
export function tailRanks(
  nActive: number,
  top = TRIAL_TOP_FEATURES,
  points = TAIL_POINTS,
): number[] {
  const first = top + 1;
  if (nActive < first) return [];
  if (nActive - top <= points) return Array.from({ length: nActive - top }, (_, i) => first + i);
  const ranks: number[] = [];
  const ratio = nActive / first;
  for (let i = 0; i < points; i++) {
    const r = i === points - 1 ? nActive : Math.round(first * ratio ** (i / (points - 1)));
    if (r > (ranks.at(-1) ?? 0)) ranks.push(r);
  }
  return ranks;
}

/** Reusable per-feature accumulators, so summarising thousands of trials allocates once. */
export class TrialActsScratch {
  readonly sums: Float64Array;
  readonly maxes: Float32Array;
  readonly fired: Int32Array;
  readonly channelSums: Float64Array;

  constructor(readonly channels: number, readonly dSae: number) {
    this.sums = new Float64Array(dSae);
    this.maxes = new Float32Array(dSae);
    this.fired = new Int32Array(dSae);
    this.channelSums = new Float64Array(channels * dSae);
  }
}

/** The `TrialActs` of trial `trial` from its dense activations z [C·p, d_sae] (tokens channel-major). */
export function summariseTrialActs(
  trial: number,
  z: Float32Array,
  channels: number,
  patches: number,
  dSae: number,
  scratch = new TrialActsScratch(channels, dSae),
): TrialActs {
  const tokens = channels * patches;
  const { sums, maxes, fired, channelSums } = scratch;
  sums.fill(0);
  maxes.fill(0);
  fired.fill(0);
  channelSums.fill(0);
  const tokenMax = new Float32Array(tokens);
  const tokenArgmax = new Int32Array(tokens).fill(-1);
  for (let t = 0; t < tokens; t++) {
    const base = t * dSae;
    const cBase = Math.floor(t / patches) * dSae;
    let best = 0;
    let bestId = -1;
    for (let f = 0; f < dSae; f++) {
      const v = z[base + f];
      if (!(v > 0)) continue;
      sums[f] += v;
      if (v > maxes[f]) maxes[f] = v;
      fired[f]++;
      channelSums[cBase + f] += v;
      if (v > best) {
        best = v;
        bestId = f;
      }
    }
    tokenMax[t] = best;
    tokenArgmax[t] = bestId;
  }

  const active: number[] = [];
  for (let f = 0; f < dSae; f++) if (fired[f] > 0) active.push(f);
  active.sort((a, b) => sums[b] - sums[a] || a - b);
  const top: TrialFeatureTotal[] = active.slice(0, TRIAL_TOP_FEATURES).map((f) => [
    f,
    round4(sums[f]),
    round4(maxes[f]),
    fired[f],
  ]);
  const tail = tailRanks(active.length).map((r): [number, number] => [
    r,
    round4(sums[active[r - 1]]),
  ]);

  const channelTop: [number, number][][] = [];
  for (let c = 0; c < channels; c++) {
    // Insertion into a short sorted list: d_sae can be large, the kept list is 10 long.
    const kept: number[] = [];
    const row = c * dSae;
    for (let f = 0; f < dSae; f++) {
      const v = channelSums[row + f];
      if (!(v > 0)) continue;
      if (kept.length === CHANNEL_TOP_FEATURES && v <= channelSums[row + kept.at(-1)!]) continue;
      let at = kept.length;
      while (at > 0 && channelSums[row + kept[at - 1]] < v) at--;
      kept.splice(at, 0, f);
      if (kept.length > CHANNEL_TOP_FEATURES) kept.pop();
    }
    channelTop.push(kept.map((f) => [f, round4(channelSums[row + f])]));
  }

  const maps = active.slice(0, TRIAL_MAPPED_FEATURES).map((f) => {
    const max = maxes[f];
    return Array.from({ length: tokens }, (_, t) => {
      const v = z[t * dSae + f];
      return v > 0 ? Math.round((v / max) * MAP_LEVELS) : 0;
    });
  });

  const grid = (values: ArrayLike<number>, map: (v: number) => number) =>
    Array.from(
      { length: channels },
      (_, c) => Array.from({ length: patches }, (_, i) => map(values[c * patches + i])),
    );
  return {
    trial,
    n_active: active.length,
    top,
    tail,
    token_max: grid(tokenMax, round4),
    token_argmax: grid(tokenArgmax, (v) => v),
    channel_top: channelTop,
    maps,
  };
}
