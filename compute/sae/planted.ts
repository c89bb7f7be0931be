/**
 * Planted-dictionary activations for checking that an SAE recovers known features: tokens are
 * sparse non-negative combinations of a random unit-norm dictionary plus small Gaussian noise.
 * compute/cli/planted.ts writes them to a `.npy` for `deno task train --activations FILE.npy`.
 */
import { Rng } from "../data/rng.ts";

export interface PlantedOptions {
  dIn: number;
  atoms: number;
  tokens: number;
  minActive: number;
  maxActive: number;
  noise: number;
  seed: number;
}

export interface PlantedData {
  /** [atoms, dIn], unit rows. */
  dictionary: Float32Array<ArrayBuffer>;
  /** [tokens, dIn]. */
  activations: Float32Array<ArrayBuffer>;
}

export function plantedDictionary(o: PlantedOptions): PlantedData {
  const rng = new Rng(o.seed);
  const dict = new Float32Array(o.atoms * o.dIn);
  for (let a = 0; a < o.atoms; a++) {
    let s = 0;
    for (let d = 0; d < o.dIn; d++) {
      const v = rng.normal();
      dict[a * o.dIn + d] = v;
      s += v * v;
    }
    for (let d = 0; d < o.dIn; d++) dict[a * o.dIn + d] /= Math.sqrt(s);
  }
  const x = new Float32Array(o.tokens * o.dIn);
  const ids = Array.from({ length: o.atoms }, (_, i) => i);
  for (let t = 0; t < o.tokens; t++) {
    const active = o.minActive + rng.int(o.maxActive - o.minActive + 1);
    // Partial Fisher–Yates: `active` distinct atoms.
    for (let j = 0; j < active; j++) {
      const r = j + rng.int(o.atoms - j);
      [ids[j], ids[r]] = [ids[r], ids[j]];
      const c = 0.5 + rng.next();
      for (let d = 0; d < o.dIn; d++) x[t * o.dIn + d] += c * dict[ids[j] * o.dIn + d];
    }
    for (let d = 0; d < o.dIn; d++) x[t * o.dIn + d] += o.noise * rng.normal();
  }
  return { dictionary: dict, activations: x };
}

/**
 * Mean over true atoms of the best cosine with any learned decoder row ([dSae, dIn]).
 */
export function recoveryScore(dictionary: Float32Array, wDec: Float32Array, dIn: number): number {
  const atoms = dictionary.length / dIn;
  const rows = wDec.length / dIn;
  const norms = new Float64Array(rows);
  for (let f = 0; f < rows; f++) {
    let s = 0;
    for (let d = 0; d < dIn; d++) s += wDec[f * dIn + d] ** 2;
    norms[f] = Math.sqrt(s) || 1;
  }
  let total = 0;
  for (let a = 0; a < atoms; a++) {
    let best = -1;
    for (let f = 0; f < rows; f++) {
      let dot = 0;
      for (let d = 0; d < dIn; d++) dot += dictionary[a * dIn + d] * wDec[f * dIn + d];
      best = Math.max(best, dot / norms[f]);
    }
    total += best;
  }
  return total / atoms;
}
