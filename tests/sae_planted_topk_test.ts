/** Planted-dictionary recovery for topk and batchtopk (with AuxK): mean best cosine ≥ 0.9. */
import assert from "node:assert/strict";
import { plantedRecovery } from "./sae_planted_helpers.ts";

Deno.test("topk SAE recovers a planted dictionary", async () => {
  const score = await plantedRecovery({ architecture: "topk", k: 4, kAux: 16 });
  assert.ok(score >= 0.9, `mean best cosine ${score}`);
});

Deno.test("batchtopk SAE recovers a planted dictionary", async () => {
  const score = await plantedRecovery({ architecture: "batchtopk", k: 4, kAux: 16 });
  assert.ok(score >= 0.9, `mean best cosine ${score}`);
});
