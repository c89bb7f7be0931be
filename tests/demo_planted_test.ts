/**
 * The default demo (`--size small`, random-weight REVE on synthetic BCIC2a-shaped data) finds the
 * planted structure: the probe on SAE features beats chance across all nine leave-one-subject-out
 * folds, and the most class-discriminative features are driven by mu/beta power over the hand
 * areas. Everything is seeded, so on one adapter the numbers repeat exactly; the thresholds leave
 * room for another adapter's rounding. Measured on llvmpipe (seed 2026): SAE probe balanced
 * accuracy 0.433 ± 0.062 (raw REVE mean-pooling 0.315), 3 of the 10 most discriminative features
 * are mu/beta features peaking at C3, C4, C1, C2 or Cz (chance about 1 in 10).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { validateProbeResult } from "../schema/run_folder.ts";
import { readNpz } from "../compute/io/npz.ts";
import type { NdArray } from "../compute/io/npy.ts";

const CHANCE = 0.25;
const HAND_AREA = new Set(["C3", "C4", "C1", "C2", "Cz"]);

function floats(arrays: Map<string, NdArray>, name: string): Float32Array {
  const a = arrays.get(name);
  assert.ok(a, `feature_data.npz has ${name}`);
  return a.data as Float32Array;
}

Deno.test({
  name: "demo --size small: the probe beats chance and top features point at mu/beta over C3/C4/Cz",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const out = join(await Deno.makeTempDir(), "demo");
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        "compute/cli/demo.ts",
        "--size",
        "small",
        "--site",
        "false",
        "--out",
        out,
      ],
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr).slice(-2000));

    const probeFile = join(out, "probe", "all_subjects_sae_mean_max.json");
    const sae = validateProbeResult(JSON.parse(await Deno.readTextFile(probeFile)), probeFile);
    assert.ok(
      sae.metrics.balanced_accuracy > CHANCE + 0.1,
      `SAE probe balanced accuracy ${sae.metrics.balanced_accuracy} should clear chance by 0.1`,
    );

    const npz = await readNpz(join(out, "features", "feature_data.npz"));
    const perClass = floats(npz, "per_class_mean_acts");
    const bandRatio = floats(npz, "spectral_band_ratio");
    const maps = floats(npz, "channel_patch_mean_acts");
    const bands = npz.get("band_names")!.data as string[];
    const channels = npz.get("channel_names")!.data as string[];
    const [nClasses, dSae] = npz.get("per_class_mean_acts")!.shape;
    const [, C, P] = npz.get("channel_patch_mean_acts")!.shape;
    const nBands = bands.length;
    // How much a feature's mean activation differs between classes, relative to its mean.
    const spread = Array.from({ length: dSae }, (_, f) => {
      const v = Array.from({ length: nClasses }, (_, k) => perClass[k * dSae + f]);
      const mean = v.reduce((a, b) => a + b, 0) / nClasses;
      return (Math.max(...v) - Math.min(...v)) / (mean + 1e-9);
    });
    const top = spread.map((s, f) => [s, f]).sort((a, b) => b[0] - a[0]).slice(0, 10);
    let planted = 0;
    for (const [, f] of top) {
      let band = 0;
      for (let b = 1; b < nBands; b++) {
        const dev = (i: number) => Math.abs(Math.log(bandRatio[f * nBands + i]));
        if (dev(b) > dev(band)) band = b;
      }
      let channel = 0;
      let best = -Infinity;
      for (let c = 0; c < C; c++) {
        let sum = 0;
        for (let p = 0; p < P; p++) sum += maps[(f * C + c) * P + p];
        if (sum > best) [best, channel] = [sum, c];
      }
      if (["mu_alpha", "beta"].includes(bands[band]) && HAND_AREA.has(channels[channel])) planted++;
    }
    assert.ok(
      planted >= 3,
      `${planted} of the 10 most discriminative features are mu/beta at C3/C4/Cz`,
    );
  },
});
