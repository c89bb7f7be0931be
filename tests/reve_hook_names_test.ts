/**
 * Hook names: ours, the earlier pipeline's TransformerLens names and short forms with a block layer
 * all name the same hook; other outputs pass through; a mistyped name is an error naming it.
 */
import assert from "node:assert/strict";
import {
  canonicalHookName,
  HOOK_POINTS,
  hookLayer,
  HookNameError,
  parseOutputName,
} from "../compute/reve/hooks.ts";

/** The earlier pipeline's README, "Available Hook Points", with the block index 3. */
const SEED_NAMES: Record<string, string> = {
  "transformer.layers.3.hook_resid_pre": "blocks.3.hook_resid_pre",
  "transformer.layers.3.hook_resid_mid": "blocks.3.hook_resid_mid",
  "transformer.layers.3.hook_resid_post": "blocks.3.hook_resid_post",
  "transformer.layers.3.attn.hook_q": "blocks.3.attn.hook_q",
  "transformer.layers.3.attn.hook_k": "blocks.3.attn.hook_k",
  "transformer.layers.3.attn.hook_v": "blocks.3.attn.hook_v",
  "transformer.layers.3.attn.hook_pattern": "blocks.3.attn.hook_pattern",
  "transformer.layers.3.attn.hook_attn_out": "blocks.3.attn.hook_attn_out",
  "transformer.layers.3.ff.hook_mlp_in": "blocks.3.mlp.hook_mlp_in",
  "transformer.layers.3.ff.hook_mlp_out": "blocks.3.mlp.hook_mlp_out",
};

Deno.test("hook names: the earlier pipeline's names are ours", () => {
  for (const [seed, ours] of Object.entries(SEED_NAMES)) {
    assert.equal(canonicalHookName(seed), ours);
    assert.equal(canonicalHookName(ours), ours);
    assert.deepEqual(parseOutputName(seed, 4), parseOutputName(ours, 4));
  }
  assert.equal(
    canonicalHookName("transformer.layers.-2.hook_resid_post"),
    "blocks.-2.hook_resid_post",
  );
  assert.equal(hookLayer("transformer.layers.-2.ff.hook_mlp_in"), -2);
});

Deno.test("hook names: every short form with a block layer", () => {
  for (const point of HOOK_POINTS) {
    const bare = point.replace(/^(attn|mlp)\./, "");
    for (const short of [point, bare, bare.replace(/^hook_/, "")]) {
      assert.equal(canonicalHookName(short, -2), `blocks.-2.${point}`, short);
    }
  }
  assert.equal(canonicalHookName("ff.hook_mlp_in", 1), "blocks.1.mlp.hook_mlp_in");
  assert.equal(canonicalHookName("resid", 0), "blocks.0.hook_resid_post");
  assert.throws(() => canonicalHookName("mlp_in"), /names no block: give --block_layer/);
});

Deno.test("hook names: other outputs pass through, mistakes are named", () => {
  for (
    const name of ["final", "hidden.2", "blocks.1.attn_out", "blocks.1.mlp_out", "patch_embed"]
  ) {
    assert.equal(canonicalHookName(name), name);
  }
  assert.throws(() => canonicalHookName("transformer.layers.0.ff.hook_mlp_mid"), HookNameError);
  assert.throws(() => parseOutputName("blocks.0.hook_resid_post2", 2), /unknown hook point/);
});
