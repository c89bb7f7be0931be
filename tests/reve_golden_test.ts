/**
 * Both golden cases (the reference implementation on random weights): every tensor of
 * expected.npz within max |ours − expected| ≤ 1e-4 · max(1, RMS(expected)), with the matmul
 * weights in textures (the default) and in storage buffers.
 */
import assert from "node:assert/strict";
import { asFloat32 } from "../compute/io/npy.ts";
import { readNpz } from "../compute/io/npz.ts";
import { readReveInputNpz } from "../compute/reve/extract.ts";
import { loadReve } from "../compute/reve/model.ts";
import { GOLDEN_CASES, GOLDEN_DIR, goldenError } from "./fixtures/reve_helpers.ts";

for (const name of GOLDEN_CASES) {
  for (const textureWeights of [true, false]) {
    const where = textureWeights ? "texture" : "buffer";
    Deno.test(`golden ${name}, ${where} weights: every expected tensor matches`, async () => {
      await checkGolden(name, textureWeights);
    });
  }
}

async function checkGolden(name: string, textureWeights: boolean): Promise<void> {
  const dir = GOLDEN_DIR + name;
  const model = await loadReve(dir, undefined, { textureWeights });
  // Every matmul weight (patch, mlp4d, and four per block) takes the path asked for.
  const matrices = 2 + 4 * model.config.depth;
  assert.equal(model.textureWeightCount, textureWeights ? matrices : 0);
  try {
    const input = await readReveInputNpz(`${dir}/input.npz`);
    const expected = await readNpz(`${dir}/expected.npz`);
    const out = await model.forward(input, { outputs: [...expected.keys()] });
    const report: string[] = [];
    for (const [key, arr] of expected) {
      const { max, tolerance } = goldenError(out.get(key)!, asFloat32(arr, key));
      report.push(`${key} ${max.toExponential(2)}`);
      assert.ok(max <= tolerance, `${name} ${key}: max error ${max} > ${tolerance}`);
    }
    console.log(
      `${name} (${textureWeights ? "texture" : "buffer"} weights) max |ours − expected|: ${
        report.join(", ")
      }`,
    );
  } finally {
    model.dispose();
  }
}
