/** Preprocessing against analytic cases: sines through the resampler and filter, known statistics. */
import assert from "node:assert/strict";
import {
  bandpassInPlace,
  PreprocessError,
  preprocessTrialSet,
  Resampler,
  symmetricEigen,
} from "../compute/data/preprocess.ts";
import { Rng } from "../compute/data/rng.ts";
import type { TrialSet } from "../compute/data/trials.ts";
import { throwsWith } from "./fixtures/data_helpers.ts";
import { unprocessedRecord } from "./fixtures/trial_sets.ts";

function sine(hz: number, fs: number, n: number, phase = 0.3): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(2 * Math.PI * hz * i / fs + phase));
}

/** Largest |a − b| over the interior (edges excluded). */
function maxErr(a: Float32Array, b: Float32Array, margin: number): number {
  let m = 0;
  for (let i = margin; i < a.length - margin; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function rms(a: Float32Array, margin: number): number {
  let s = 0;
  for (let i = margin; i < a.length - margin; i++) s += a[i] * a[i];
  return Math.sqrt(s / (a.length - 2 * margin));
}

Deno.test("resampler 250→200 Hz: in-band sines keep amplitude and phase", () => {
  const r = new Resampler(250, 200);
  assert.equal(r.up, 4);
  assert.equal(r.down, 5);
  for (const hz of [1, 10, 25, 45, 80]) {
    const x = sine(hz, 250, 1000);
    const { data, samples } = r.apply(x, 1, 1000);
    assert.equal(samples, 800);
    const want = sine(hz, 200, 800);
    // Interior: within 0.2% of the analytic sine sampled at 200 Hz.
    assert.ok(maxErr(data, want, 60) < 2e-3, `${hz} Hz err ${maxErr(data, want, 60)}`);
  }
  // Mirrored edges keep even the ends of a slow sine close.
  const slow = r.apply(sine(2, 250, 1000), 1, 1000).data;
  assert.ok(maxErr(slow, sine(2, 200, 800), 0) < 0.05);
  // DC passes exactly.
  const dc = r.apply(new Float32Array(1000).fill(3), 1, 1000).data;
  assert.ok(dc.every((v) => Math.abs(v - 3) < 1e-5));
});

Deno.test("resampler 250→200 Hz: content above the new Nyquist does not alias", () => {
  const r = new Resampler(250, 200);
  for (const hz of [105, 115, 124]) {
    const out = r.apply(sine(hz, 250, 1000), 1, 1000).data;
    assert.ok(rms(out, 60) < 2e-3, `${hz} Hz leaks rms ${rms(out, 60)}`);
  }
  // Several rows are resampled independently.
  const two = new Float32Array(2000);
  two.set(sine(10, 250, 1000), 0);
  two.set(sine(30, 250, 1000), 1000);
  const both = r.apply(two, 2, 1000).data;
  assert.deepEqual(both.subarray(800), r.apply(sine(30, 250, 1000), 1, 1000).data);
});

Deno.test("resampler: upsampling 200→250 Hz and invalid rates", () => {
  const r = new Resampler(200, 250);
  const out = r.apply(sine(30, 200, 800), 1, 800);
  assert.equal(out.samples, 1000);
  assert.ok(maxErr(out.data, sine(30, 250, 1000), 60) < 2e-3);
  throwsWith(() => new Resampler(0, 200), PreprocessError, "rates must be positive");
});

Deno.test("band-pass 8–30 Hz: zero phase in band, strong attenuation outside", () => {
  const fs = 200, n = 800;
  const pass = sine(15, fs, n);
  bandpassInPlace(pass, 1, n, fs, [8, 30]);
  assert.ok(
    maxErr(pass, sine(15, fs, n), 100) < 0.05,
    `15 Hz err ${maxErr(pass, sine(15, fs, n), 100)}`,
  );
  for (const hz of [1, 70]) {
    const x = sine(hz, fs, n);
    bandpassInPlace(x, 1, n, fs, [8, 30]);
    assert.ok(rms(x, 100) < 0.05 * Math.SQRT1_2, `${hz} Hz rms ${rms(x, 100)}`);
  }
  throwsWith(() => bandpassInPlace(pass, 1, n, fs, [30, 8]), PreprocessError, "must satisfy");
});

function makeSet(T = 50): TrialSet {
  // Two subjects × two sessions × 3 trials, 3 channels × T samples, session-specific scales.
  const rng = new Rng(5);
  const n = 12, C = 3;
  const eeg = new Float32Array(n * C * T);
  const subjects = new Int32Array(n), sessions: string[] = [];
  for (let i = 0; i < n; i++) {
    subjects[i] = i < 6 ? 1 : 2;
    sessions.push(i % 6 < 3 ? "T" : "E");
    const scale = (subjects[i] === 1 ? 10 : 3) * (sessions[i] === "T" ? 1 : 4);
    for (let k = 0; k < C * T; k++) {
      const c = Math.floor(k / T);
      eeg[i * C * T + k] = 5 * (c + 1) +
        scale * (rng.normal() + 0.5 * (c === 1 ? rng.normal() : 0));
    }
  }
  return {
    eeg,
    n,
    channels: ["C3", "Cz", "C4"],
    samples: T,
    sfreq: 200,
    labels: new Int32Array(n),
    subjects,
    sessions,
    keys: Array.from({ length: n }, (_, i) => `k${i}`),
    preprocessing: unprocessedRecord("test", 200),
  };
}

Deno.test("scaling zscore_clip15: per channel per session mean 0, std 1, clipped at ±15", () => {
  const set = makeSet();
  const out = preprocessTrialSet(set, {
    sfreq: 200,
    bandpass: null,
    scaling: "zscore_clip15",
    euclideanAlignment: false,
  });
  assert.notEqual(out.eeg[7], set.eeg[7], "the input is left untouched");
  // With 3·400 samples per (session, channel) one outlier reaches ~34σ and is clipped.
  const long = makeSet(400);
  long.eeg[7] = 1e6;
  long.eeg[8] = -1e6;
  const clipped = preprocessTrialSet(long, {
    sfreq: 200,
    bandpass: null,
    scaling: "zscore_clip15",
    euclideanAlignment: false,
  });
  assert.equal(clipped.eeg[7], 15);
  assert.equal(clipped.eeg[8], -15);
  // Exact moments per (session, channel).
  for (const session of ["T", "E"]) {
    const trials = [6, 7, 8, 9, 10, 11].filter((i) => out.sessions[i] === session);
    for (let c = 0; c < 3; c++) {
      const v = trials.flatMap((i) =>
        Array.from(out.eeg.subarray((i * 3 + c) * 50, (i * 3 + c + 1) * 50))
      );
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      assert.ok(
        Math.abs(mean) < 1e-5 && Math.abs(std - 1) < 1e-5,
        `${session} c${c}: ${mean} ${std}`,
      );
    }
  }
  assert.equal(out.preprocessing.scaling, "zscore_clip15");
  assert.equal(out.preprocessing.unit, "z-score");
});

Deno.test("scaling uv_div100 divides by 100; resampling is recorded", () => {
  const set = makeSet();
  const out = preprocessTrialSet(set, {
    sfreq: 200,
    bandpass: null,
    scaling: "uv_div100",
    euclideanAlignment: false,
  });
  assert.equal(out.eeg[3], Math.fround(set.eeg[3] / 100));
  const long = {
    ...makeSet(),
    samples: 25,
    channels: ["C3", "Cz", "C4", "Pz", "Fz", "POz"],
    sfreq: 250,
  };
  const res = preprocessTrialSet(long, {
    sfreq: 200,
    bandpass: [1, 40],
    scaling: "none",
    euclideanAlignment: false,
  });
  assert.equal(res.samples, 20);
  assert.equal(res.eeg.length, 12 * 6 * 20);
  assert.equal(res.preprocessing.source_sfreq, 200, "source rate is kept from the input record");
  assert.equal(res.preprocessing.sfreq, 200);
  assert.match(res.preprocessing.resampler!, /250→200 Hz \(L=4, M=5/);
  assert.deepEqual(res.preprocessing.bandpass, [1, 40]);
});

Deno.test("Euclidean alignment: each subject's mean trial covariance becomes the identity", () => {
  const out = preprocessTrialSet(makeSet(), {
    sfreq: 200,
    bandpass: null,
    scaling: "none",
    euclideanAlignment: true,
  });
  for (const subject of [1, 2]) {
    const R = new Float64Array(9);
    const trials = [...out.subjects.keys()].filter((i) => out.subjects[i] === subject);
    for (const i of trials) {
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 3; b++) {
          let s = 0;
          for (let t = 0; t < 50; t++) {
            s += out.eeg[(i * 3 + a) * 50 + t] * out.eeg[(i * 3 + b) * 50 + t];
          }
          R[a * 3 + b] += s / 50 / trials.length;
        }
      }
    }
    R.forEach((v, k) =>
      assert.ok(Math.abs(v - (k % 4 === 0 ? 1 : 0)) < 1e-4, `subject ${subject} R[${k}] ${v}`)
    );
  }
  assert.equal(out.preprocessing.euclidean_alignment, true);
});

Deno.test("symmetric eigen-decomposition reconstructs the matrix", () => {
  const A = Float64Array.from([4, 1, 2, 1, 3, 0.5, 2, 0.5, 5]);
  const { values, vectors: V } = symmetricEigen(A, 3);
  for (let a = 0; a < 3; a++) {
    for (let b = 0; b < 3; b++) {
      let s = 0;
      for (let k = 0; k < 3; k++) s += V[a * 3 + k] * values[k] * V[b * 3 + k];
      assert.ok(Math.abs(s - A[a * 3 + b]) < 1e-10);
    }
  }
  assert.ok(Math.abs(values.reduce((x, y) => x + y) - 12) < 1e-10, "trace");
});
