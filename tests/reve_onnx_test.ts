/**
 * REVE's exported ONNX graph on onnxruntime-web as an independent oracle: against the golden files
 * of the reference implementation, against the float64 CPU reference on a config the golden files
 * do not cover (H·Dh ≠ D, plain GELU, another patch size and overlap, a dropped tail), and our
 * WGSL forward against it on both golden cases, that config and a reve-base-sized random model.
 * Tolerance everywhere: max|diff| ≤ 1e-4·max(1, RMS(expected)).
 */
import assert from "node:assert/strict";
import { getGpu } from "../compute/gpu/mod.ts";
import { asFloat32, type NdArray } from "../compute/io/npy.ts";
import { readNpz } from "../compute/io/npz.ts";
import { createOrtSession, type F32Tensor, type OrtBackend } from "../compute/onnx/ort_session.ts";
import {
  patchCount,
  readReveConfig,
  REVE_BASE_CONFIG,
  type ReveConfig,
} from "../compute/reve/config.ts";
import { readReveInputNpz } from "../compute/reve/extract.ts";
import type { ReveInput } from "../compute/reve/input.ts";
import { loadReve, ReveModel } from "../compute/reve/model.ts";
import {
  buildReveOnnx,
  buildReveOnnxFromDir,
  exportReveOnnx,
  REVE_ONNX_EEG,
  REVE_ONNX_FINAL,
  REVE_ONNX_POS_EMBED,
  reveOnnxHiddenName,
} from "../compute/reve/onnx_export.ts";
import { randomReveWeights, writeRandomReveModel } from "../compute/reve/random_model.ts";
import { reveReferenceForward } from "../compute/reve/reference.ts";
import { ReveWeightsError } from "../compute/reve/weights.ts";
import { GOLDEN_CASES, GOLDEN_DIR, goldenError } from "./fixtures/reve_helpers.ts";

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string): string {
  assert.equal(got.length, want.length, `${what}: ${got.length} values, expected ${want.length}`);
  const { max, tolerance } = goldenError(got, want);
  assert.ok(max <= tolerance, `${what}: max|diff| ${max} > ${tolerance}`);
  return `${what} ${max.toExponential(2)}`;
}

function entry(arrays: Map<string, NdArray>, key: string, file: string): Float32Array {
  const a = arrays.get(key);
  if (!a) throw new Error(`${file} has no "${key}"`);
  return asFloat32(a, `${file}: ${key}`);
}

/** Runs a REVE graph once on one backend. */
async function runOnnx(
  model: Uint8Array,
  backend: OrtBackend,
  input: ReveInput,
  posEmbed: Float32Array,
  embedDim: number,
): Promise<Record<string, F32Tensor>> {
  const session = await createOrtSession(model, backend);
  try {
    const tokens = posEmbed.length / input.batch / embedDim;
    return await session.run({
      [REVE_ONNX_EEG]: { data: input.eeg, shape: [input.batch, input.channels, input.samples] },
      [REVE_ONNX_POS_EMBED]: { data: posEmbed, shape: [input.batch, tokens, embedDim] },
    });
  } finally {
    await session.release();
  }
}

/** ORT on a golden case (fed the reference's pos_embed) checked against final and every hidden. */
async function checkGoldenOnnx(
  name: string,
  backend: OrtBackend,
  model?: Uint8Array,
): Promise<{ cfg: ReveConfig; input: ReveInput; final: F32Tensor; report: string[] }> {
  const dir = GOLDEN_DIR + name;
  const cfg = await readReveConfig(`${dir}/config.json`);
  const input = await readReveInputNpz(`${dir}/input.npz`);
  const expected = await readNpz(`${dir}/expected.npz`);
  const out = await runOnnx(
    model ?? await buildReveOnnxFromDir(dir, { includeHidden: true }),
    backend,
    input,
    entry(expected, "pos_embed", "expected.npz"),
    cfg.embedDim,
  );
  const final = out[REVE_ONNX_FINAL];
  const tokens = input.channels * patchCount(cfg, input.samples);
  assert.deepEqual(final.shape, [input.batch, tokens, cfg.embedDim]);
  // expected final is [B,C,p,D]: the same values in the same channel-major order.
  const report = [assertClose(final.data, entry(expected, "final", "expected.npz"), "final")];
  for (let i = 0; i < cfg.depth; i++) {
    const key = reveOnnxHiddenName(i);
    report.push(assertClose(out[key].data, entry(expected, key, "expected.npz"), key));
  }
  console.log(`${name} ORT ${backend} max |ORT − expected|: ${report.join(", ")}`);
  return { cfg, input, final, report };
}

/** Our WGSL forward's `final` against ORT's. */
async function checkWgslAgainst(
  model: ReveModel,
  input: ReveInput,
  ort: F32Tensor,
  what: string,
): Promise<void> {
  const ours = await model.forward(input, { outputs: ["final"] });
  console.log(`${what}: max |WGSL − ORT| ${assertClose(ours.get("final")!, ort.data, "final")}`);
}

Deno.test("REVE ONNX: the exported file matches golden reve-tiny on ORT wasm", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/reve-tiny.onnx`;
    const bytes = await exportReveOnnx(GOLDEN_DIR + "reve-tiny", path, { includeHidden: true });
    const model = await Deno.readFile(path);
    assert.equal(model.byteLength, bytes);
    await checkGoldenOnnx("reve-tiny", "wasm", model);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const name of GOLDEN_CASES) {
  Deno.test(`REVE ONNX: golden ${name} on ORT wasm, and our WGSL forward matches it`, async () => {
    const { input, final } = await checkGoldenOnnx(name, "wasm");
    const model = await loadReve(GOLDEN_DIR + name);
    try {
      await checkWgslAgainst(model, input, final, name);
    } finally {
      model.dispose();
    }
  });
}

Deno.test("REVE ONNX: golden reve-tiny on ORT webgpu", async () => {
  await checkGoldenOnnx("reve-tiny", "webgpu");
});

/** H·Dh ≠ D, plain GELU, patch 50 with overlap 10, and a tail that does not fill a patch. */
const ODD_CONFIG: ReveConfig = {
  embedDim: 24,
  depth: 2,
  heads: 3,
  headDim: 6,
  mlpDimRatio: 1.5,
  useGeglu: false,
  freqs: 3,
  patchSize: 50,
  patchOverlap: 10,
  noiseRatio: 0,
};

function syntheticInput(batch: number, channels: number, samples: number): ReveInput {
  return {
    eeg: new Float32Array(batch * channels * samples).map((_, i) => 2 * Math.sin(i * 0.37)),
    pos: new Float32Array(batch * channels * 3).map((_, i) => 0.08 * Math.cos(i * 1.3)),
    batch,
    channels,
    samples,
  };
}

Deno.test("REVE ONNX: random odd config matches the float64 reference; WGSL matches ORT", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // Through a model folder: the random writer's layout must load like a real model.
    await writeRandomReveModel(dir, ODD_CONFIG, 7);
    const input = syntheticInput(2, 3, 237);
    assert.equal(patchCount(ODD_CONFIG, input.samples), 5);
    const ref = reveReferenceForward(
      ODD_CONFIG,
      randomReveWeights(ODD_CONFIG, 7),
      input.eeg,
      input.pos,
      input.batch,
      input.channels,
      input.samples,
    );
    const out = await runOnnx(
      await buildReveOnnxFromDir(dir, { includeHidden: true }),
      "wasm",
      input,
      Float32Array.from(ref.get("pos_embed")!),
      ODD_CONFIG.embedDim,
    );
    assertClose(out[REVE_ONNX_FINAL].data, ref.get("final")!, "ORT final vs reference");
    assertClose(out[reveOnnxHiddenName(1)].data, ref.get("hidden.1")!, "ORT hidden.1");
    const model = await loadReve(dir);
    try {
      await checkWgslAgainst(model, input, out[REVE_ONNX_FINAL], "odd config");
    } finally {
      model.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("REVE ONNX: reve-base-sized random model, 22×800: WGSL matches ORT", async () => {
  const cfg = REVE_BASE_CONFIG;
  const weights = randomReveWeights(cfg, 5);
  const onnxModel = buildReveOnnx(cfg, weights);
  const input = syntheticInput(1, 22, 800);
  // The position embedding alone (depth 0) from the float64 reference: cheap, and independent.
  const posEmbed = reveReferenceForward(
    { ...cfg, depth: 0 },
    weights,
    input.eeg,
    input.pos,
    1,
    22,
    800,
  ).get("pos_embed")!;
  const out = await runOnnx(onnxModel, "wasm", input, Float32Array.from(posEmbed), cfg.embedDim);
  // fromWeights empties the map as it uploads, so it runs after everything else used it.
  const model = ReveModel.fromWeights(cfg, weights, await getGpu());
  try {
    await checkWgslAgainst(model, input, out[REVE_ONNX_FINAL], "reve-base random");
  } finally {
    model.dispose();
  }
});

Deno.test("REVE ONNX: weights that do not fit the config are refused by name", () => {
  const weights = randomReveWeights(ODD_CONFIG, 1);
  weights.delete("transformer.layers.1.0.to_qkv.weight");
  assert.throws(
    () => buildReveOnnx(ODD_CONFIG, weights),
    (e: Error) => e instanceof ReveWeightsError && e.message.includes("layers.1.0.to_qkv.weight"),
  );
});
