/**
 * A reve-base-sized model (random weights written to safetensors in the real layout: 69,189,632
 * parameters, 140 tensors) loads and runs a 22×800 trial on this adapter, and the loader's peak
 * memory stays below 3× the weights file. On a software adapter the device's own copy of the
 * weights lives in host memory too and is not the loader's, so it is taken off. The load and
 * forward run in a fresh process so the measurement sees only them.
 */
import assert from "node:assert/strict";
import { REVE_BASE_CONFIG } from "../compute/reve/config.ts";
import { writeRandomReveModel } from "../compute/reve/random_model.ts";
import { expectedWeightShapes, parameterCount } from "../compute/reve/weights.ts";

const PROBE = new URL("./fixtures/reve_load_probe.ts", import.meta.url).pathname;

Deno.test("reve-base-sized random model: loads, runs 22×800, loader peak < 3× the file", async () => {
  assert.equal(parameterCount(REVE_BASE_CONFIG), 69_189_632);
  assert.equal(expectedWeightShapes(REVE_BASE_CONFIG).size, 140);
  const dir = await Deno.makeTempDir({ prefix: "reve_base_" });
  try {
    await writeRandomReveModel(dir, REVE_BASE_CONFIG, 3);
    const fileBytes = (await Deno.stat(`${dir}/model.safetensors`)).size;
    assert.ok(fileBytes > 69_189_632 * 4, `file of ${fileBytes} bytes`);
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", PROBE, dir],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, stderr);
    const r = JSON.parse(new TextDecoder().decode(run.stdout));
    console.log(
      `reve-base random: file ${(fileBytes / 1e6).toFixed(0)} MB, loader peak ` +
        `${(r.loaderPeakBytes / 1e6).toFixed(0)} MB (${
          (r.loaderPeakBytes / fileBytes).toFixed(2)
        }×; device ${(r.deviceBytes / 1e6).toFixed(0)} MB), ` +
        `load ${r.loadSeconds.toFixed(1)} s, 22×800 forward ${r.forwardSeconds.toFixed(1)} s`,
    );
    const loaderOwn = r.loaderPeakBytes - (r.softwareAdapter ? r.deviceBytes : 0);
    assert.ok(
      loaderOwn < 3 * fileBytes,
      `loader peak ${r.loaderPeakBytes} (device ${r.deviceBytes}, software adapter ` +
        `${r.softwareAdapter}) ≥ 3 × ${fileBytes}`,
    );
    assert.equal(r.blocksRun, 22);
    assert.equal(r.finalLength, 22 * 4 * 512);
    assert.equal(r.pooledLength, 512);
    assert.equal(r.hookLength, 88 * 512);
    assert.ok(r.finalFinite);
    assert.ok(r.finalRms > 0.1 && r.finalRms < 1e3, `final RMS ${r.finalRms}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
