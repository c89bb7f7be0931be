/** Band powers and spectral signatures on analytic sines. */
import assert from "node:assert/strict";
import {
  BandPowerBaseline,
  BandPowerEstimator,
  EEG_BANDS,
  patchGeometry,
  spectralSignature,
  trialPatchPowers,
} from "../compute/analysis/spectral.ts";
import { Rng } from "../compute/data/rng.ts";

const FS = 200;
const BAND = Object.fromEntries(EEG_BANDS.map((b, i) => [b.name, i]));

function sine(n: number, hz: number, amplitude: number, phase = 0.3): Float64Array {
  return Float64Array.from(
    { length: n },
    (_, i) => amplitude * Math.sin(2 * Math.PI * hz * i / FS + phase),
  );
}

Deno.test("a sine of amplitude A puts A²/2 into its band and nothing elsewhere", () => {
  const est = new BandPowerEstimator(200, FS);
  for (
    const [hz, a, band] of [
      [10, 2, "mu_alpha"],
      [20, 1, "beta"],
      [6, 3, "theta"],
      [2, 1, "delta"],
      [40, 0.5, "gamma"],
    ] as const
  ) {
    const p = est.powers(sine(200, hz, a), 0);
    for (let b = 0; b < EEG_BANDS.length; b++) {
      if (b === BAND[band]) {
        assert.ok(Math.abs(p[b] - a * a / 2) < 1e-9 * a * a, `${hz} Hz in ${band}: ${p[b]}`);
      } else assert.ok(p[b] < 1e-12 * a * a, `${hz} Hz leaks ${p[b]} into ${EEG_BANDS[b].name}`);
    }
  }
  // Off-bin frequency: Hann leakage stays mostly inside the band; a DC offset is removed.
  const offBin = est.powers(sine(200, 10.5, 1).map((v) => v + 5), 0);
  const total = offBin.reduce((s, v) => s + v, 0);
  assert.ok(offBin[BAND.mu_alpha] / total > 0.98, JSON.stringify(Array.from(offBin)));
  // Windows at an offset read the right samples.
  const two = new Float64Array(400);
  two.set(sine(200, 20, 1), 200);
  assert.ok(est.powers(two, 0)[BAND.beta] < 1e-20);
  assert.ok(Math.abs(est.powers(two, 200)[BAND.beta] - 0.5) < 1e-9);
  assert.throws(() => est.powers(two, 300), { name: "SpectralError", message: /outside/ });
});

Deno.test("REVE patch geometry", () => {
  const g = patchGeometry(22, 800, 200, 20);
  assert.deepEqual([g.step, g.patches], [180, 4]);
  assert.throws(() => patchGeometry(22, 100, 200, 20), { name: "SpectralError" });
});

Deno.test("a feature firing on a beta burst at one channel gets a beta signature there", () => {
  const g = patchGeometry(3, 800, 200, 20);
  const est = new BandPowerEstimator(200, FS);
  const rng = new Rng(5);
  const nTrials = 20;
  const trials: Float32Array[] = [];
  for (let t = 0; t < nTrials; t++) {
    const eeg = new Float32Array(3 * 800);
    for (let i = 0; i < eeg.length; i++) eeg[i] = rng.normal() * 0.5;
    // Every trial: 10 Hz alpha on every channel.
    for (let c = 0; c < 3; c++) {
      const a = sine(800, 10, 1);
      for (let i = 0; i < 800; i++) eeg[c * 800 + i] += a[i];
    }
    // Trials 0..4: a 20 Hz burst on channel 1 in patch 2 (samples 360..560).
    if (t < 5) {
      const burst = sine(200, 20, 3);
      for (let i = 0; i < 200; i++) eeg[800 + 360 + i] += burst[i];
    }
    trials.push(eeg);
  }
  const powers = trials.map((eeg) => trialPatchPowers(eeg, g, est));
  const baseline = new BandPowerBaseline(g, EEG_BANDS.length);
  for (const p of powers) baseline.add(p);
  const top = [0, 1, 2, 3, 4].map((trial) => ({ trial, token: 1 * g.patches + 2 }));
  const sig = spectralSignature(top, (t) => powers[t], baseline.mean(), g);
  assert.deepEqual(sig.bands, EEG_BANDS.map((b) => b.name));
  const best = sig.ratio.indexOf(Math.max(...sig.ratio));
  assert.equal(sig.bands[best], "beta");
  assert.ok(sig.ratio[BAND.beta] > 5, `beta ratio ${sig.ratio[BAND.beta]}`);
  assert.ok(
    Math.abs(sig.ratio[BAND.mu_alpha] - 1) < 0.3,
    `alpha ratio ${sig.ratio[BAND.mu_alpha]}`,
  );
  assert.ok(sig.channelRatio[1][BAND.beta] > 5);
  assert.ok(sig.channelRatio[0][BAND.beta] < 1.5 && sig.channelRatio[2][BAND.beta] < 1.5);
  // A feature firing on ordinary patches (channels without bursts) has a flat signature.
  const ordinary = [10, 11, 12, 13].map((trial, j) => ({
    trial,
    token: (j % 2) * 2 * g.patches + j,
  }));
  const plain = spectralSignature(ordinary, (t) => powers[t], baseline.mean(), g);
  assert.ok(plain.ratio.every((r) => r > 0.25 && r < 4), JSON.stringify(plain.ratio));
  assert.ok(plain.ratio[BAND.beta] < 2);
});
