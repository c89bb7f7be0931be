/** Shared by the planted-dictionary tests: write a planted .npy, train through runTraining, score. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { f32, writeNpy } from "../compute/io/npy.ts";
import { plantedDictionary, recoveryScore } from "../compute/sae/planted.ts";
import { runTraining } from "../compute/pipeline/train_run.ts";
import type { SaeTrainConfig } from "../compute/sae/config.ts";

const D_IN = 64;
const ATOMS = 32;

/** Trains on 3–5-sparse combinations of 32 unit atoms in d_in 64 and returns the recovery score. */
export async function plantedRecovery(config: Partial<SaeTrainConfig>): Promise<number> {
  const dir = await Deno.makeTempDir({ prefix: "sae_planted_" });
  try {
    const p = plantedDictionary({
      dIn: D_IN,
      atoms: ATOMS,
      tokens: 20000,
      minActive: 3,
      maxActive: 5,
      noise: 0.01,
      seed: 1,
    });
    const file = join(dir, "planted.npy");
    await writeNpy(file, f32(p.activations, [20000, D_IN]));
    const summary = await runTraining({
      activations: file,
      out: join(dir, "run"),
      config: {
        expansionFactor: 1,
        trainBatchSizeTokens: 128,
        totalTrainingTokens: 128 * 200,
        nBatchesInBuffer: 4,
        lr: 1e-2,
        deadFeatureWindow: 50,
        logEvery: 50,
        checkpointEvery: 1000,
        seed: 3,
        ...config,
      },
      argv: [],
      progress: false,
    });
    assert.equal(summary.steps, 200);
    return recoveryScore(p.dictionary, summary.weights.wDec, D_IN);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
