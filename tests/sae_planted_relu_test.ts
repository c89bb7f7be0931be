/**
 * Planted-dictionary recovery for relu (L1, ghost grads, token-norm MSE) and jumprelu: the learned
 * decoder rows find the true atoms (mean best cosine ≥ 0.9). The larger case (512 atoms) is a
 * command: `deno run -A compute/cli/planted.ts --out runs/planted.npy` then
 * `deno task train --activations runs/planted.npy --expansion_factor 16 ...`.
 */
import assert from "node:assert/strict";
import { plantedRecovery } from "./sae_planted_helpers.ts";

Deno.test("relu SAE recovers a planted dictionary", async () => {
  const score = await plantedRecovery({ architecture: "relu", l1Coefficient: 3e-3 });
  assert.ok(score >= 0.9, `mean best cosine ${score}`);
});

Deno.test("jumprelu SAE recovers a planted dictionary", async () => {
  const score = await plantedRecovery({
    architecture: "jumprelu",
    l1Coefficient: 1e-3,
    bandwidth: 0.1,
    initialThreshold: 0.1,
  });
  assert.ok(score >= 0.9, `mean best cosine ${score}`);
});
