/**
 * The promised errors: wrong key name, wrong shape, missing key (all reported at once), bad
 * config, unknown channel, T shorter than one patch, NaN naming its trial and channel.
 */
import assert from "node:assert/strict";
import { UnknownChannelError } from "../compute/data/montage.ts";
import { getGpu } from "../compute/gpu/mod.ts";
import { f32, str } from "../compute/io/npy.ts";
import { writeNpz } from "../compute/io/npz.ts";
import { writeSafetensors } from "../compute/io/safetensors.ts";
import {
  parseReveConfig,
  REVE_BASE_CONFIG,
  ReveConfigError,
  toConfigJson,
} from "../compute/reve/config.ts";
import { readReveInputNpz } from "../compute/reve/extract.ts";
import { HookNameError } from "../compute/reve/hooks.ts";
import { ReveInputError } from "../compute/reve/input.ts";
import { loadReve, ReveModel } from "../compute/reve/model.ts";
import { randomReveWeights } from "../compute/reve/random_model.ts";
import { type HostTensor, ReveWeightsError } from "../compute/reve/weights.ts";

const CFG = { ...REVE_BASE_CONFIG, embedDim: 16, depth: 1, heads: 2, headDim: 8, freqs: 2 };

async function modelDir(edit: (w: Map<string, HostTensor>) => void): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "reve_errors_" });
  const weights = randomReveWeights(CFG, 1);
  edit(weights);
  await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(toConfigJson(CFG)));
  await writeSafetensors(`${dir}/model.safetensors`, Object.fromEntries(weights));
  return dir;
}

async function loadError(edit: (w: Map<string, HostTensor>) => void): Promise<ReveWeightsError> {
  const dir = await modelDir(edit);
  try {
    const e = await loadReve(dir).then(() => undefined, (e) => e);
    assert.ok(e instanceof ReveWeightsError, `expected ReveWeightsError, got ${e}`);
    assert.ok(e.message.includes(`${dir}/model.safetensors`), "the message names the file");
    return e;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a misspelt key is reported as missing and unexpected, with the suggestion", async () => {
  const e = await loadError((w) => {
    w.set("mlp4d.0.weigth", w.get("mlp4d.0.weight")!);
    w.delete("mlp4d.0.weight");
  });
  assert.equal(e.problems.length, 2);
  assert.match(
    e.message,
    /missing key "mlp4d\.0\.weight" \[16,4\] \(found "mlp4d\.0\.weigth" instead\?\)/,
  );
  assert.match(
    e.message,
    /unexpected key "mlp4d\.0\.weigth" \[16,4\] \(did you mean "mlp4d\.0\.weight"\?\)/,
  );
});

Deno.test("a wrong shape names the key, its shape and the expected one", async () => {
  const e = await loadError((w) => {
    w.set("transformer.layers.0.0.to_qkv.weight", { shape: [48, 8], data: new Float32Array(384) });
  });
  assert.deepEqual(e.problems, [
    `"transformer.layers.0.0.to_qkv.weight" has shape [48,8], expected [48,16]`,
  ]);
});

Deno.test("a missing key and a wrong shape are reported together", async () => {
  const e = await loadError((w) => {
    w.delete("ln.bias");
    w.set("cls_query_token", { shape: [16], data: new Float32Array(16) });
  });
  assert.equal(e.problems.length, 2);
  assert.ok(e.problems.some((p) => p.startsWith(`missing key "ln.bias" [16]`)));
  assert.ok(
    e.problems.some((p) => p.includes(`"cls_query_token" has shape [16], expected [1,1,16]`)),
  );
});

Deno.test("config: unknown and missing keys and inconsistent dims are all reported", () => {
  const raw = { ...toConfigJson(CFG), embed_dim: 15, depht: 2 } as Record<string, unknown>;
  delete raw.depth;
  assert.throws(() => parseReveConfig(raw, "x/config.json"), (e: unknown) => {
    assert.ok(e instanceof ReveConfigError);
    assert.match(e.message, /^x\/config\.json: invalid REVE config/);
    assert.ok(e.problems.some((p) => p.startsWith(`unknown key "depht"`)));
    assert.ok(e.problems.includes(`missing key "depth"`));
    return true;
  });
  const bad = { ...toConfigJson(CFG), embed_dim: 15, patch_overlap: 200 };
  assert.throws(() => parseReveConfig(bad), (e: unknown) => {
    assert.ok(e instanceof ReveConfigError);
    assert.ok(e.problems.some((p) => p.includes(`"embed_dim" must be even`)));
    assert.ok(e.problems.some((p) => p.includes(`"patch_overlap" must be in [0, patch_size)`)));
    return true;
  });
  assert.throws(
    () => parseReveConfig({ ...toConfigJson(CFG), embed_dim: 64, freqs: 2 }),
    /freqs"⁴ = 16/,
  );
});

Deno.test("an unknown channel name is an error with near matches", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reve_errors_" });
  try {
    const path = `${dir}/input.npz`;
    await writeNpz(path, {
      eeg: f32(new Float32Array(2 * 400), [1, 2, 400]),
      channels: str(["Cz", "CPZZ"]),
    });
    const e = await readReveInputNpz(path).then(() => undefined, (e) => e);
    assert.ok(e instanceof UnknownChannelError, `got ${e}`);
    assert.equal(e.channel, "CPZZ");
    assert.ok(e.nearMatches.includes("CPZ") || e.nearMatches.includes("CPz"), e.message);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("T shorter than one patch, NaN input and bad hook names give clear errors", async () => {
  const model = ReveModel.fromWeights(CFG, randomReveWeights(CFG, 2), await getGpu());
  try {
    const pos = new Float32Array(3 * 3).fill(0.01);
    const short = { eeg: new Float32Array(2 * 3 * 150), batch: 2, channels: 3, samples: 150, pos };
    await assert.rejects(
      model.forward(short, { outputs: ["final"] }),
      (e: unknown) =>
        e instanceof ReveInputError &&
        /150 samples, shorter than one patch \(patch_size 200/.test(e.message),
    );
    const eeg = new Float32Array(2 * 3 * 400);
    eeg[(1 * 3 + 2) * 400 + 17] = NaN;
    const input = {
      eeg,
      batch: 2,
      channels: 3,
      samples: 400,
      pos,
      channelNames: ["Fz", "Cz", "C3"],
      firstTrial: 40,
    };
    await assert.rejects(
      model.forward(input, { outputs: ["final"] }),
      (e: unknown) =>
        e instanceof ReveInputError &&
        e.message.startsWith("trial 41, channel 2 (C3): sample 17 is NaN"),
    );
    eeg[(1 * 3 + 2) * 400 + 17] = 0;
    await assert.rejects(
      model.forward(input, { outputs: ["blocks.1.hook_resid_post"] }),
      HookNameError,
    );
    await assert.rejects(model.forward(input, { outputs: ["blocks.0.hook_resid"] }), HookNameError);
  } finally {
    model.dispose();
  }
});
