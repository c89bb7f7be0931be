/** `deno task data synth|inspect|export` end to end, as a user runs it, errors included. */
import assert from "node:assert/strict";
import { readNpz } from "../compute/io/npz.ts";
import { scratchCopy } from "./fixtures/data_helpers.ts";
import { runCliFile } from "./fixtures/cli_run.ts";

const data = (...args: string[]) => runCliFile("data", args);

Deno.test("data synth → inspect → export with preprocessing", async () => {
  const dir = await Deno.makeTempDir();
  const synth = await data(
    "synth",
    "--out",
    `${dir}/db`,
    "--subjects",
    "1",
    "--trials-per-class",
    "2",
    "--sfreq",
    "250",
  );
  assert.equal(synth.code, 0, synth.stderr);
  assert.match(synth.stdout, /wrote 16 trials/);

  const inspect = await data("inspect", "--db_path", `${dir}/db`);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(
    inspect.stdout,
    /trials {5}16 {2}\(shape per trial \[22, 1000\] at 250 Hz, 4\.00 s\)/,
  );
  assert.match(inspect.stdout, /labels {5}0: 4, 1: 4, 2: 4, 3: 4/);
  assert.match(inspect.stdout, /sessions {3}E: 8, T: 8/);
  assert.match(inspect.stdout, /"layout":"\[C,T\]"/);

  const out = `${dir}/trials.npz`;
  const exp = await data(
    "export",
    "--db_path",
    `${dir}/db`,
    "--out",
    out,
    "--resample",
    "200",
    "--scaling",
    "zscore_clip15",
  );
  assert.equal(exp.code, 0, exp.stderr);
  assert.match(exp.stdout, /eeg \[16,22,800\] at 200 Hz/);
  const npz = await readNpz(out);
  assert.deepEqual(npz.get("eeg")!.shape, [16, 22, 800]);
  assert.equal((npz.get("sfreq")!.data as Float64Array)[0], 200);
  const record = JSON.parse((npz.get("preprocessing")!.data as string[])[0]);
  assert.equal(record.scaling, "zscore_clip15");
  assert.equal(record.source_sfreq, 250);
  assert.match(record.resampler, /250→200/);
  const eeg = npz.get("eeg")!.data as Float32Array;
  assert.ok(eeg.every((v) => Math.abs(v) <= 15));
});

Deno.test("data: errors name what is wrong and exit non-zero", async () => {
  const none = await data("export", "--out", "/tmp/x.npz");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /give --db_path DIR \(LMDB\) or --recordings FILE\|DIR/);

  const unknown = await data("frobnicate");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /unknown subcommand "frobnicate"/);

  const bad = await scratchCopy(new URL("./fixtures/data/lmdb/bad/", import.meta.url));
  const r = await data("inspect", "--db_path", bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /LmdbSourceError: .*key "A01T-0-1": not a binary pickle/);
  const skipped = await data("inspect", "--db_path", bad, "--skip_bad");
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stdout, /skipped {4}A01T-0-3: sample holds NaN at channel 3, time 7/);

  const dir = await Deno.makeTempDir();
  const truncated = `${dir}/A01T.gdf`;
  const bytes = await Deno.readFile(new URL("./fixtures/data/gdf/A01T.gdf", import.meta.url));
  await Deno.writeFile(truncated, bytes.subarray(0, 9000));
  const g = await data("export", "--gdf", truncated, "--out", `${dir}/t.npz`);
  assert.equal(g.code, 1);
  assert.match(g.stderr, new RegExp(`RecordingError: ${truncated}: truncated`));
});
