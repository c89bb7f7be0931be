/** The run-folder contract: the fixture run passes every validator; malformed files fail with
 * the file and field named. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFixtureRun } from "./fixtures/fixture_run.ts";
import {
  DATA_SOURCE_KINDS,
  decodeEegChunk,
  eegRows,
  featureFilePath,
  parseTrainLog,
  ReportSchemaError,
  SAE_CFG_ARCHITECTURES,
  SCALING_KINDS,
  shapeOf,
  trialsInChunk,
  validateFeatureChunk,
  validateFeatureDetail,
  validateFeatureIndex,
  validateProbeResult,
  validateRunInfo,
  validateSaeCfg,
  validateTrialActsChunk,
  validateTrialTable,
} from "../schema/run_folder.ts";

const tmp = await Deno.makeTempDir({ prefix: "eeg_sae_report_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
const readJson = async (path: string) => JSON.parse(await Deno.readTextFile(path));

Deno.test("fixture run: every file passes its validator, in both feature layouts", async () => {
  for (const chunk_size of [undefined, 8]) {
    const dir = join(tmp, `run_${chunk_size ?? "f"}`);
    const written = await writeFixtureRun(dir, {
      d_sae: 20,
      n_trials: 6,
      chunk_size,
      trial_chunk_size: 4,
    });
    const index = validateFeatureIndex(await readJson(join(dir, "features", "index.json")));
    assert.deepEqual(index, written);
    assert.equal(index.n_alive, index.features.filter((f) => f.alive).length);
    assert.ok(index.n_alive < index.d_sae, "fixture has dead features");
    const shape = shapeOf(index);
    validateRunInfo(await readJson(join(dir, "run.json")));
    validateSaeCfg(await readJson(join(dir, "sae", "cfg.json")));
    assert.equal(parseTrainLog(await Deno.readTextFile(join(dir, "train_log.jsonl"))).length, 50);
    const table = validateTrialTable(
      await readJson(join(dir, "features", "trials.json")),
      shape,
      index.n_trials,
    );
    assert.equal(
      index.trial_store.n_chunks,
      Math.ceil(index.n_trials / index.trial_store.chunk_size),
    );
    for (let k = 0; k < index.trial_store.n_chunks; k++) {
      const acts = validateTrialActsChunk(
        await readJson(join(dir, "features", "trial_acts", `${k}.json`)),
        shape,
        index.trial_store,
        index.n_trials,
      );
      const n = trialsInChunk(index.trial_store, index.n_trials, k);
      const eeg = decodeEegChunk(
        await Deno.readFile(join(dir, "features", "eeg", `${k}.bin`)),
        n,
        shape.n_channels,
        index.n_samples,
      );
      for (const [j, t] of acts.trials.entries()) {
        // The rank/sum curve falls, and a trial's features sum to what its table row implies.
        const sums = [...t.top.map((x) => x[1]), ...t.tail.map((x) => x[1])];
        sums.forEach((s, i) => assert.ok(i === 0 || s <= sums[i - 1], `trial ${t.trial} sums`));
        assert.ok(t.n_active >= t.top.length);
        // The strongest feature of each token is one of the trial's active features and its
        // activation is at least that of any mapped feature there.
        for (const [m, map] of t.maps.entries()) {
          const [, , max] = t.top[m];
          map.forEach((q, tok) => {
            const c = Math.floor(tok / shape.n_patches);
            const v = (q / 255) * max;
            assert.ok(t.token_max[c][tok % shape.n_patches] >= v - max / 255 - 1e-6);
          });
        }
        // EEG: planted 10 Hz mu rhythm, strongest over the class's focus channel.
        const rows = eegRows(eeg, j);
        assert.equal(rows.length, shape.n_channels);
        const power = rows.map((r) => r.reduce((a, v) => a + v * v, 0));
        const focus = ["C4", "C3", "Cz", "Fz"][table.labels[t.trial]];
        assert.equal(index.channels[power.indexOf(Math.max(...power))], focus);
      }
    }
    for (const f of index.features.filter((f) => f.alive)) {
      const path = join(dir, "features", featureFilePath(index.layout, f.id));
      const raw = await readJson(path);
      const detail = chunk_size === undefined
        ? validateFeatureDetail(raw, shape, path)
        : validateFeatureChunk(raw, shape, path).features.find((d) => d.id === f.id)!;
      assert.equal(detail.id, f.id);
      // Top trials refer to the trial table; sparse token activations hold the argmax token.
      for (const [r, tt] of detail.top_trials.entries()) {
        assert.equal(tt.key, table.keys[tt.trial]);
        assert.equal(tt.label, table.labels[tt.trial]);
        assert.equal(tt.token_acts === null, r >= 3);
        if (tt.token_acts) {
          const best = tt.token_acts.reduce((a, b) => (b[1] > a[1] ? b : a));
          assert.equal(best[0], tt.token);
          assert.equal(best[1], tt.value);
        }
      }
    }
    for await (const e of Deno.readDir(join(dir, "probe"))) {
      validateProbeResult(await readJson(join(dir, "probe", e.name)));
    }
  }
});

Deno.test("validators name the file and the field that is wrong", async () => {
  const dir = join(tmp, "run_f");
  const index = await readJson(join(dir, "features", "index.json"));
  const expectError = (fn: () => unknown, pattern: RegExp) =>
    assert.throws(fn, (e: unknown) => e instanceof ReportSchemaError && pattern.test(e.message));

  const badRow = structuredClone(index);
  badRow.features[4].per_class_mean = [1, 2];
  expectError(
    () => validateFeatureIndex(badRow, "runs/x/features/index.json"),
    /^runs\/x\/features\/index\.json: field "features\[4\]\.per_class_mean" must be an array of length 4/,
  );
  const badAlive = structuredClone(index);
  badAlive.n_alive += 1;
  expectError(
    () => validateFeatureIndex(badAlive),
    /field "n_alive" must be \d+ \(the number of alive rows\)/,
  );

  const alive = index.features.find((f: { alive: boolean }) => f.alive).id;
  const detail = await readJson(join(dir, "features", "f", `${alive}.json`));
  detail.channel_patch_mean[3].pop();
  expectError(
    () => validateFeatureDetail(detail, shapeOf(index), "f.json"),
    /^f\.json: field "\(root\)\.channel_patch_mean\[3\]" must be an array of length 4/,
  );
  const run = await readJson(join(dir, "run.json"));
  run.preprocessing.scaling = "raw";
  expectError(
    () => validateRunInfo(run),
    /^run\.json: field "preprocessing\.scaling" must be one of/,
  );
  expectError(
    () => parseTrainLog('{"step": 1}\nnot json\n', "log.jsonl"),
    /^log\.jsonl:1: field "tokens" must be an integer/,
  );
  expectError(
    () => parseTrainLog("\nnot json\n", "log.jsonl"),
    /^log\.jsonl:2: field "\(row\)" must be valid JSON/,
  );
});

Deno.test("the validators accept every value of a schema union and name the values otherwise", async () => {
  const dir = join(tmp, "run_f");
  const run = await readJson(join(dir, "run.json"));
  const cfg = await readJson(join(dir, "sae", "cfg.json"));
  const cases: [string[], (v: string) => unknown, string][] = [
    [
      [...DATA_SOURCE_KINDS],
      (v) => validateRunInfo({ ...run, data: { ...run.data, kind: v } }),
      "data.kind",
    ],
    [
      [...SCALING_KINDS],
      (v) => validateRunInfo({ ...run, preprocessing: { ...run.preprocessing, scaling: v } }),
      "preprocessing.scaling",
    ],
    [
      [...SAE_CFG_ARCHITECTURES],
      (v) => validateSaeCfg({ ...cfg, architecture: v }),
      "architecture",
    ],
  ];
  for (const [values, validate, field] of cases) {
    for (const v of values) validate(v);
    assert.throws(
      () => validate("unknown"),
      (e: unknown) =>
        e instanceof ReportSchemaError &&
        e.message.includes(`field "${field}" must be one of ${values.join(", ")}`),
    );
  }
});
