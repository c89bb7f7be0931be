/**
 * REVE's parameter-free 4D Fourier position encoding (docs/ARCHITECTURE.md, "REVE"), computed on
 * the CPU in float64: `q = (x+0.4, y+0.4, z+0.4, 0.1·t+0.4)`, frequencies `(ix,iy,iz,iw) ∈
 * {0..F−1}⁴` with x slowest, the first D/2 kept, `loc = (2π/1.8)·(i·q)`, embedding `[cos(loc),
 * sin(loc)]`.
 */

const MARGIN = 0.4;
const TIME_INCREMENT = 0.1;
const SCALE = (2 * Math.PI) / (1 + 2 * MARGIN);

/** The integer frequency vectors, `[D/2, 4]`, in the reference's order. */
export function fourierFrequencies(embedDim: number, freqs: number): Int32Array {
  const half = embedDim / 2;
  if (!Number.isInteger(half) || freqs ** 4 < half) {
    throw new RangeError(`embed_dim ${embedDim} needs an even width ≤ 2·freqs⁴ (freqs ${freqs})`);
  }
  const out = new Int32Array(half * 4);
  for (let k = 0; k < half; k++) {
    out[k * 4] = Math.floor(k / freqs ** 3);
    out[k * 4 + 1] = Math.floor(k / freqs ** 2) % freqs;
    out[k * 4 + 2] = Math.floor(k / freqs) % freqs;
    out[k * 4 + 3] = k % freqs;
  }
  return out;
}

/**
 * The Fourier embedding of every token of one trial, `[C·p, D]` channel-major (`n = c·p + i`),
 * from electrode positions `[C,3]` in metres.
 */
export function fourierEmbedding(
  pos: ArrayLike<number>,
  channels: number,
  patches: number,
  embedDim: number,
  freqs: number,
): Float64Array {
  const half = embedDim / 2;
  const f = fourierFrequencies(embedDim, freqs);
  const out = new Float64Array(channels * patches * embedDim);
  for (let c = 0; c < channels; c++) {
    const qx = pos[c * 3] + MARGIN;
    const qy = pos[c * 3 + 1] + MARGIN;
    const qz = pos[c * 3 + 2] + MARGIN;
    for (let i = 0; i < patches; i++) {
      const qt = TIME_INCREMENT * i + MARGIN;
      const row = (c * patches + i) * embedDim;
      for (let k = 0; k < half; k++) {
        const loc = SCALE *
          (f[k * 4] * qx + f[k * 4 + 1] * qy + f[k * 4 + 2] * qz + f[k * 4 + 3] * qt);
        out[row + k] = Math.cos(loc);
        out[row + half + k] = Math.sin(loc);
      }
    }
  }
  return out;
}
