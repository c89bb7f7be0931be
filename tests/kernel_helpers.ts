/** Helpers shared by the kernel tests: seeded inputs and output-scaled error measures. */
import assert from "node:assert/strict";
import { Rng } from "../compute/data/rng.ts";

/** Uniform values in [lo, hi) from a fixed seed. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array<ArrayBuffer> {
  const rng = new Rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.uniform(lo, hi);
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** max(1, max |x|): the output scale that tolerances are stated relative to. */
export function outputScale(x: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i]));
  return m;
}

/** Asserts max |got − ref| ≤ tol · max(1, max |ref|), naming the case. */
export function assertClose(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  const diff = maxAbsDiff(got, ref);
  const bound = tol * outputScale(ref);
  if (!(diff <= bound)) {
    throw new Error(
      `${what}: max |diff| ${diff.toExponential(3)} exceeds ${bound.toExponential(3)}`,
    );
  }
}

/** Asserts |got[i] − ref[i]| ≤ tol · max(1, |ref[i]|) for every element, naming the first miss. */
export function assertEachClose(
  got: ArrayLike<number>,
  ref: ArrayLike<number>,
  tol: number,
  what: string,
): void {
  assert.equal(got.length, ref.length, `${what}: length`);
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i] - ref[i]) <= tol * Math.max(1, Math.abs(ref[i])),
      `${what}[${i}]: ${got[i]} vs ${ref[i]}`,
    );
  }
}
