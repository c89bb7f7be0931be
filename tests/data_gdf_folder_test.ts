/** A folder of GDF files becomes one LMDB that reads back as the same trials, labels and values. */
import assert from "node:assert/strict";
import { RecordingError } from "../compute/data/recording.ts";
import { readRecording } from "../compute/data/recording_files.ts";
import { convertRecordings } from "../compute/data/recording_lmdb.ts";
import { RecordingSource, type RecordingSourceOptions } from "../compute/data/recording_source.ts";
import { LmdbSource } from "../compute/data/lmdb_source.ts";
import { rejectsWith } from "./fixtures/data_helpers.ts";

const open = async (file: string, options?: RecordingSourceOptions) =>
  RecordingSource.open(await readRecording(file), options);
const convertFolder = (dir: string, out: string) => convertRecordings([dir], out, {});
const DIR = new URL("./fixtures/data/gdf/", import.meta.url).pathname;

async function folderWith(names: string[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  for (const n of names) await Deno.copyFile(`${DIR}${n}`, `${dir}/${n}`);
  return dir;
}

Deno.test("gdf folder: training and labelled evaluation sessions convert to an LMDB", async () => {
  const dir = await folderWith(["A01T.gdf", "A01E.gdf", "A01E_labels.txt"]);
  const out = `${dir}/out.lmdb`;
  const summary = await convertFolder(dir, out);
  assert.deepEqual(summary.skipped, []);
  const t = await open(`${dir}/A01T.gdf`);
  const e = await open(`${dir}/A01E.gdf`, { labelFile: `${dir}/A01E_labels.txt` });
  const lmdb = await LmdbSource.open(out);
  try {
    assert.equal(lmdb.sfreq, t.sfreq);
    assert.equal(lmdb.trials.length, t.trials.length + e.trials.length);
    const byKey = new Map(lmdb.trials.map((m, i) => [m.key, i]));
    for (const src of [t, e]) {
      for (let i = 0; i < src.trials.length; i++) {
        const want = await src.read(i);
        const got = await lmdb.read(byKey.get(want.key)!);
        assert.equal(got.label, want.label, want.key);
        assert.equal(got.subject, 1);
        assert.deepEqual(got.eeg, want.eeg, want.key);
      }
    }
  } finally {
    lmdb.close();
    t.close();
    e.close();
  }
});

Deno.test("gdf folder: the competition's A01E.mat beside A01E.gdf labels the evaluation session", async () => {
  const dir = await folderWith(["A01T.gdf", "A01E.gdf", "A01E.mat"]);
  const summary = await convertFolder(dir, `${dir}/out.lmdb`);
  assert.deepEqual(summary.skipped, []);
  const lmdb = await LmdbSource.open(`${dir}/out.lmdb`);
  const e = await open(`${dir}/A01E.gdf`, { labelFile: `${DIR}A01E_labels.txt` });
  try {
    const labels = new Map(lmdb.trials.map((m) => [m.key, m.label]));
    for (const t of e.trials) assert.equal(labels.get(t.key), t.label, t.key);
  } finally {
    lmdb.close();
    e.close();
  }
});

Deno.test("gdf folder: an evaluation file without labels is left out; none at all is an error", async () => {
  const dir = await folderWith(["A01T.gdf", "A01E.gdf"]);
  const summary = await convertFolder(dir, `${dir}/out.lmdb`);
  assert.deepEqual(summary.skipped, [{
    key: "A01E.gdf",
    reason: "evaluation session without a label file beside it",
  }]);
  const empty = await Deno.makeTempDir();
  await rejectsWith(
    () => convertFolder(empty, `${empty}/out.lmdb`),
    RecordingError,
    "no recordings (GDF, EDF, BDF, MAT) in it",
  );
});
