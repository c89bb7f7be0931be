/**
 * SAEs from other tools: checkpoints written here and now by real PyTorch (Debian's python3-torch)
 * in the earlier pipeline's two formats, with a config class defined only in the writing script,
 * import bit for bit with the hook under our name; a SAELens 6 folder (hook under `metadata`, in
 * the earlier pipeline's name) imports, and `deno task probe` trains on it given directly as --sae.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readNpy } from "../compute/io/npy.ts";
import { readSafetensors } from "../compute/io/safetensors.ts";
import { decodePickle, PickleError } from "../compute/io/pickle_decode.ts";
import { importSae, readForeignSae, SaeImportError } from "../compute/sae/import_sae.ts";
import { loadSae } from "../compute/sae/checkpoint.ts";
import { writeSyntheticDataset } from "../compute/data/synthetic_dataset.ts";
import { validateProbeResult } from "../schema/run_folder.ts";
import { unzipSync } from "fflate";
import { loadAnalysisSae } from "../compute/analysis/analysis_sae.ts";
import { getGpu } from "../compute/gpu/mod.ts";

const WRITER = new URL("./fixtures/write_torch_sae.py", import.meta.url).pathname;
const PYTHON = (() => {
  // Debian's python3 carries python3-torch; a python3 earlier on PATH (pyenv, venv) may not.
  try {
    Deno.statSync("/usr/bin/python3");
    return "/usr/bin/python3";
  } catch {
    return "python3";
  }
})();

async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

async function writeCheckpoints(dir: string, ...args: string[]): Promise<void> {
  const r = await run(PYTHON, [WRITER, dir, ...args]);
  assert.equal(r.code, 0, `python3-torch could not write the checkpoints:\n${r.err}`);
}

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

Deno.test("import-sae: the earlier pipeline's .pt and .pkl.gz import bit for bit", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_import_" });
  try {
    await writeCheckpoints(dir);
    for (const file of ["sae_latest.pt", "sae_latest.pkl.gz", "sae_params.pt"]) {
      const out = join(dir, `ours_${file}`);
      const r = await run(Deno.execPath(), [
        "run",
        "-A",
        new URL("../compute/cli/import_sae.ts", import.meta.url).pathname,
        "--from",
        join(dir, file),
        "--out",
        out,
      ]);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /hook blocks\.-2\.hook_resid_post/);
      assert.match(
        r.out,
        /kept: .*l1_coefficient 0\.0003.*expansion_factor 4|kept: .*expansion_factor 4.*l1_coefficient 0\.0003/,
      );
      assert.match(r.out, /kept: .*model_name "brain-bzh\/reve-base".*block_layer -2/);
      assert.match(r.out, /not mapped .*: lr, use_ghost_grads, channel_names, dtype, device/);
      const written = await readSafetensors(join(out, "sae_weights.safetensors"));
      for (const name of ["W_enc", "b_enc", "W_dec", "b_dec"]) {
        const want = await readNpy(join(dir, "expected", `${name}.npy`));
        const got = written.tensors.get(name)!;
        assert.deepEqual(got.shape, want.shape, `${file} ${name}`);
        assert.deepEqual(
          bytesOf(got.data as Float32Array),
          bytesOf(want.data as Float32Array),
          `${file} ${name}`,
        );
      }
      const cfg = JSON.parse(await Deno.readTextFile(join(out, "cfg.json")));
      assert.equal(cfg.hook_name, "blocks.-2.hook_resid_post");
      assert.equal(cfg.d_in, 8);
      assert.equal(cfg.d_sae, 32);
      assert.equal(cfg.l1_coefficient, 3e-4);
      // The config object became data: its class was never needed, its dtype field is a name.
      assert.equal(cfg.source_config.dtype, "torch.float32");
      assert.deepEqual(cfg.source_config.channel_names, ["C3", "Cz", "C4"]);
      // Every --sae takes the checkpoint itself: the same weights, through the same reader.
      const direct = await loadSae(join(dir, file));
      assert.deepEqual(
        bytesOf(direct.wDec),
        bytesOf(written.tensors.get("W_dec")!.data as Float32Array),
      );
      assert.equal(direct.cfg.hook_name, "blocks.-2.hook_resid_post");
      // Nothing is overwritten.
      await assert.rejects(importSae(join(dir, file), out), /already exists/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import-sae: the plain decoder still refuses a checkpoint's objects and persistent ids", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_import_" });
  try {
    await writeCheckpoints(dir);
    const files = unzipSync(await Deno.readFile(join(dir, "sae_latest.pt")));
    assert.throws(() => decodePickle(files["sae_latest/data.pkl"]), PickleError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import-sae: a bare safetensors needs the hook; a wrong --d_in is named", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_import_" });
  try {
    await writeCheckpoints(dir);
    const bare = join(dir, "saelens6", "sae_weights.safetensors");
    await assert.rejects(importSae(bare, join(dir, "a")), /give --hook/);
    await assert.rejects(
      readForeignSae(bare, { dIn: 16, hook: "resid_post", blockLayer: 3 }),
      (e) =>
        e instanceof SaeImportError && /d_in 16 was given but W_enc is \[8, 32\]/.test(e.message),
    );
    const sae = await importSae(bare, join(dir, "b"), {
      dIn: 8,
      hook: "ff.hook_mlp_out",
      blockLayer: 3,
    });
    assert.equal(sae.cfg.hook_name, "blocks.3.mlp.hook_mlp_out");
    // As --sae directly, the hook comes from --hook.
    const gpu = await getGpu();
    await assert.rejects(loadAnalysisSae(bare, gpu), /no "hook_name".*give --hook/);
    const loaded = await loadAnalysisSae(bare, gpu, "transformer.layers.1.hook_resid_mid");
    assert.equal(loaded.cfg.hook_name, "transformer.layers.1.hook_resid_mid");
    assert.equal(loaded.sae.dSae, 32);
    loaded.sae.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("import-sae: a SAELens 6 folder imports, and probe trains on it as --sae", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sae_import_" });
  try {
    // reve-tiny is 64 wide; the hook is named the earlier pipeline's way, under metadata.
    await writeCheckpoints(dir, "transformer.layers.0.hook_resid_post", "64");
    const folder = join(dir, "saelens6");
    const imported = await importSae(folder, join(dir, "ours"));
    assert.equal(imported.format, "SAELens 6 folder");
    assert.equal(imported.cfg.hook_name, "blocks.0.hook_resid_post");
    assert.ok(imported.kept.includes('model_name "brain-bzh/reve-base"'), imported.kept.join(", "));
    const want = await readNpy(join(dir, "expected", "W_enc.npy"));
    const got = await readSafetensors(join(dir, "ours", "sae_weights.safetensors"));
    assert.deepEqual(
      bytesOf(got.tensors.get("W_enc")!.data as Float32Array),
      bytesOf(want.data as Float32Array),
    );

    await writeSyntheticDataset(join(dir, "db"), {
      seed: 3,
      subjects: 9,
      trialsPerClass: 1,
      sfreq: 200,
      seconds: 2,
    });
    const r = await run(Deno.execPath(), [
      "run",
      "-A",
      "--unstable-webgpu",
      new URL("../compute/cli/probe.ts", import.meta.url).pathname,
      "--sae",
      folder,
      "--model_name",
      "tests/golden/reve-tiny",
      "--db_path",
      join(dir, "db"),
      "--out",
      join(dir, "run"),
      "--cbramod_split",
      "--scaling",
      "uv_div100",
      "--inputs",
      "sae_mean_max",
      "--k_values",
      "1,all",
    ]);
    assert.equal(r.code, 0, r.err);
    const file = join(dir, "run", "probe", "cbramod_split_sae_mean_max.json");
    const result = validateProbeResult(JSON.parse(await Deno.readTextFile(file)), file);
    assert.equal(result.settings.hook, "blocks.0.hook_resid_post");
    assert.ok(result.metrics.accuracy >= 0 && result.metrics.accuracy <= 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
