/**
 * The default demo (`--size small`, random-weight REVE on synthetic BCIC2a-shaped data) finds the
 * planted structure: the probe on SAE features beats chance across all nine leave-one-subject-out
 * folds, and the class-discriminative features are the mu/beta features over the hand areas.
 * Everything is seeded, so on one adapter the numbers repeat exactly, but two correct adapters round
 * differently and train different dictionaries. The planted check is therefore a statistic over
 * the whole dictionary, not a count in a short list: the ten features with the largest relative
 * class spread held 3 planted ones on llvmpipe, 2 on SwiftShader and about 2 with shuffled labels
 * (rarely firing features top that ranking).
 *
 * A feature is planted when mu/beta is its dominant band and C3, C4, C1, C2 or Cz its peak
 * channel; its class-discriminativeness is its largest |selectivity| (topk_masking.ts) over the
 * classes, computed from its per-trial max activation. Measured with seed 2026, llvmpipe and
 * SwiftShader alike unless stated:
 * - SAE probe balanced accuracy 0.391 ± 0.044 on llvmpipe, 0.389 ± 0.047 on SwiftShader (raw
 *   REVE mean-pooling 0.315);
 * - 92 of the 1023 (SwiftShader 1024) alive features planted; AUC of planted against the others by
 *   discriminativeness 0.653 (60 label shuffles per adapter: about 0.51 ± 0.03, highest 0.586);
 * - 23 of the 100 most discriminative features planted, 2.6× their share of all alive features
 *   (label shuffles: 9 ± 2.5, highest 15).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { validateProbeResult } from "../schema/run_folder.ts";
import { readNpz } from "../compute/io/npz.ts";
import type { NdArray } from "../compute/io/npy.ts";
import { readPooledFile } from "../compute/analysis/probe_task.ts";
import { classFeatureScores } from "../compute/analysis/topk_masking.ts";
import { matrix } from "../compute/analysis/matrix.ts";

const CHANCE = 0.25;
const HAND_AREA = new Set(["C3", "C4", "C1", "C2", "Cz"]);
/** Planted features outrank the others by class selectivity with at least this AUC. */
const MIN_AUC = 0.6;
/** The most class-selective features (about a tenth of the dictionary)... */
const TOP_N = 100;
/** ...hold planted features at least this many times as often as all alive features do. */
const MIN_ENRICHMENT = 2;

function floats(arrays: Map<string, NdArray>, name: string): Float32Array {
  const a = arrays.get(name);
  assert.ok(a, `feature_data.npz has ${name}`);
  return a.data as Float32Array;
}

/**
 * Per feature: is it a mu/beta feature over the hand areas? Its band is the one whose power at
 * its top activations departs most (in log ratio) from the dataset average, its channel the one
 * with the largest mean activation.
 */
function plantedFeatures(npz: Map<string, NdArray>): boolean[] {
  const bandRatio = floats(npz, "spectral_band_ratio");
  const maps = floats(npz, "channel_patch_mean_acts");
  const bands = npz.get("band_names")!.data as string[];
  const channels = npz.get("channel_names")!.data as string[];
  const [dSae, C, P] = npz.get("channel_patch_mean_acts")!.shape;
  const nBands = bands.length;
  return Array.from({ length: dSae }, (_, f) => {
    const dev = (b: number) => Math.abs(Math.log(bandRatio[f * nBands + b]));
    let band = 0;
    for (let b = 1; b < nBands; b++) if (dev(b) > dev(band)) band = b;
    let channel = 0;
    let best = -Infinity;
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let p = 0; p < P; p++) sum += maps[(f * C + c) * P + p];
      if (sum > best) [best, channel] = [sum, c];
    }
    return ["mu_alpha", "beta"].includes(bands[band]) && HAND_AREA.has(channels[channel]);
  });
}

/**
 * Mann–Whitney AUC: the chance that a randomly drawn positive scores above a randomly drawn
 * negative (ties count half), from the rank sum of the positives.
 */
function rankAuc(score: number[], positive: boolean[]): number {
  const order = score.map((_, i) => i).sort((a, b) => score[a] - score[b]);
  let rankSum = 0;
  let nPos = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && score[order[j + 1]] === score[order[i]]) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (positive[order[k]]) {
        rankSum += midRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = order.length - nPos;
  assert.ok(nPos > 0 && nNeg > 0, `${nPos} planted and ${nNeg} other alive features`);
  return (rankSum - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

Deno.test({
  name:
    "demo --size small: the probe beats chance; mu/beta features at C3/C4/Cz are class-selective",
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
    const planted = plantedFeatures(npz);
    const { pooled, labels } = await readPooledFile(join(out, "probe", "pooled_activations.npz"));
    const nClasses = npz.get("class_names")!.data.length;
    const selectivity = classFeatureScores(
      matrix(pooled.saeMax, pooled.n, pooled.dSae),
      labels,
      Int32Array.from({ length: pooled.n }, (_, i) => i),
      nClasses,
      "selectivity",
    );
    const alive = npz.get("feature_alive")!.data as Uint8Array;
    const ids = Array.from({ length: pooled.dSae }, (_, f) => f).filter((f) => alive[f] === 1);
    // A feature's class-discriminativeness: its largest |selectivity| over the classes.
    const score = ids.map((f) => {
      let best = 0;
      for (let k = 0; k < nClasses; k++) {
        best = Math.max(best, Math.abs(selectivity[k * pooled.dSae + f]));
      }
      return best;
    });
    const isPlanted = ids.map((f) => planted[f]);
    const nPlanted = isPlanted.filter(Boolean).length;
    const baseRate = nPlanted / ids.length;
    const auc = rankAuc(score, isPlanted);
    assert.ok(
      auc >= MIN_AUC,
      `planted features (${nPlanted} of ${ids.length} alive) should outrank the others by ` +
        `class selectivity: AUC ${auc.toFixed(3)} < ${MIN_AUC} (chance 0.5)`,
    );
    const top = ids.map((_, i) => i).sort((a, b) => score[b] - score[a] || a - b).slice(0, TOP_N);
    const topPlanted = top.filter((i) => isPlanted[i]).length;
    assert.ok(
      topPlanted / TOP_N >= MIN_ENRICHMENT * baseRate,
      `${topPlanted} of the ${TOP_N} most class-selective features are mu/beta at C3/C4/Cz ` +
        `(${(topPlanted / TOP_N).toFixed(3)}), less than ${MIN_ENRICHMENT}× their share of all ` +
        `${ids.length} alive features (${nPlanted}, ${baseRate.toFixed(3)})`,
    );
  },
});
