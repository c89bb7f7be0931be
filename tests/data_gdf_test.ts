/**
 * GDF 2.x reading on files written byte by byte from the specification
 * (tests/fixtures/make_data_fixtures.py) with known samples and events.
 */
import assert from "node:assert/strict";
import { parseGdf } from "../compute/data/gdf_reader.ts";
import { RecordingError } from "../compute/data/recording.ts";
import { readRecording } from "../compute/data/recording_files.ts";
import { RecordingSource, type RecordingSourceOptions } from "../compute/data/recording_source.ts";
import { exportTrials } from "../compute/data/export.ts";
import { readNpz } from "../compute/io/npz.ts";
import { rejectsWith, throwsWith } from "./fixtures/data_helpers.ts";
import { ioFixture } from "./fixtures/io_helpers.ts";

const DIR = new URL("./fixtures/data/gdf/", import.meta.url);
const path = (name: string) => new URL(name, DIR).pathname;
const open = async (file: string, options?: RecordingSourceOptions) =>
  RecordingSource.open(await readRecording(file), options);
const expected = JSON.parse(Deno.readTextFileSync(path("expected.json")));

/** The fixture's digital value of channel `ch` at 0-based sample `n`. */
const digital = (ch: number, n: number) => ((ch * 1000 + n * 7) % 60001) - 30000;
/** Physical µV from int16 in [-32768, 32767] mapped to [-100, 100]. */
const microvolts = (d: number) => -100 + (d + 32768) * (200 / 65535);

Deno.test("gdf: header, channels, events and scaling of a training-session file", () => {
  const rec = parseGdf(Deno.readFileSync(path("A01T.gdf")), "A01T.gdf");
  assert.equal(rec.version, "2.10");
  assert.equal(rec.sfreq, 250);
  assert.equal(rec.samples, expected.samples_total - (expected.samples_total % 5));
  assert.deepEqual(rec.channels.map((c) => c.label), expected.gdf_labels);
  assert.equal(rec.channels[0].voltage, true);
  const starts = rec.events.filter((e) => e.code === "768").map((e) => e.position);
  assert.deepEqual(starts, expected.starts_1based.map((s: number) => s - 1));
  const cues = rec.events.filter((e) => ["769", "770", "771", "772"].includes(e.code));
  assert.deepEqual(cues.map((e) => e.duration), [313, 313, 313, 313]);
  // A few samples across records and channels, EOG included.
  for (const [ch, n] of [[0, 0], [7, 1234], [24, 4], [13, rec.samples - 1]]) {
    assert.ok(Math.abs(rec.signals[ch * rec.samples + n] - microvolts(digital(ch, n))) < 1e-4);
  }
});

Deno.test("gdf: trials are cut 2–6 s after the trial start with cue labels and rejections", async () => {
  const source = await open(path("A01T.gdf"));
  assert.equal(source.samples, 1000);
  assert.equal(source.sfreq, 250);
  assert.deepEqual(source.trials.map((t) => t.label), expected.labels_T);
  assert.deepEqual(source.trials.map((t) => t.rejected), [false, false, true, false]);
  assert.deepEqual(source.trials.map((t) => t.key), [
    "A01T-0000",
    "A01T-0001",
    "A01T-0002",
    "A01T-0003",
  ]);
  assert.ok(source.trials.every((t) => t.subject === 1 && t.session === "T"));
  for (const i of [0, 3]) {
    const trial = await source.read(i);
    const first = expected.starts_1based[i] - 1 + 500;
    for (const [c, t] of [[0, 0], [21, 999], [9, 500]]) {
      const want = microvolts(digital(c, first + t));
      assert.ok(Math.abs(trial.eeg[c * 1000 + t] - want) < 1e-4, `trial ${i} c${c} t${t}`);
    }
  }
});

Deno.test("gdf: evaluation labels come from the label file; a custom window applies", async () => {
  const unlabeled = await open(path("A01E.gdf"));
  assert.deepEqual(unlabeled.trials.map((t) => t.label), [-1, -1, -1, -1]);
  const source = await open(path("A01E.gdf"), {
    labelFile: path("A01E_labels.txt"),
    window: [0.5, 2.5],
  });
  assert.deepEqual(source.trials.map((t) => t.label), expected.labels_E);
  assert.equal(source.samples, 500);
  const trial = await source.read(1);
  const first = expected.starts_1based[1] - 1 + 125;
  assert.ok(Math.abs(trial.eeg[3 * 500 + 7] - microvolts(digital(3, first + 7))) < 1e-4);
  const out = `${await Deno.makeTempDir()}/e.npz`;
  await exportTrials(source, out);
  const npz = await readNpz(out);
  assert.deepEqual(npz.get("eeg")!.shape, [4, 22, 500]);
  assert.deepEqual(Array.from(npz.get("labels")!.data as BigInt64Array, Number), [3, 2, 1, 0]);
});

Deno.test("gdf: evaluation labels from the competition's MAT-file (classlabel)", async () => {
  const fromMat = await open(path("A01E.gdf"), { labelFile: path("A01E.mat") });
  assert.deepEqual(fromMat.trials.map((t) => t.label), expected.labels_E);
  // A MAT-file with several numeric variables and no classlabel names what it has.
  await rejectsWith(
    () => open(path("A01E.gdf"), { labelFile: ioFixture("mat/mixed.mat") }),
    RecordingError,
    /mixed\.mat: no "classlabel" variable \(variables: x, k, small, mask, big, note\)/,
  );
});

Deno.test("gdf: a label file with the wrong count or values is an error naming it", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeTextFile(`${dir}/few.txt`, "1\n2\n");
  await Deno.writeTextFile(`${dir}/bad.txt`, "1\n2\n5\n1\n");
  await rejectsWith(
    () => open(path("A01E.gdf"), { labelFile: `${dir}/few.txt` }),
    RecordingError,
    "has 2 labels for 4 trials",
  );
  await rejectsWith(
    () => open(path("A01E.gdf"), { labelFile: `${dir}/bad.txt` }),
    RecordingError,
    `${dir}/bad.txt: label 2 is "5", expected a class 1–4`,
  );
});

Deno.test("gdf: truncated files and windows past the end are errors naming the file", async () => {
  const bytes = Deno.readFileSync(path("A01T.gdf"));
  throwsWith(
    () => parseGdf(bytes.subarray(0, 100), "t.gdf"),
    RecordingError,
    "t.gdf: truncated: 100 bytes",
  );
  throwsWith(
    () => parseGdf(bytes.subarray(0, 256 * 26 + 1000), "t.gdf"),
    RecordingError,
    /t\.gdf: truncated: \d+ records of 250 bytes need \d+ bytes, file has 7656/,
  );
  const withoutEvents = bytes.subarray(0, bytes.length - 40);
  throwsWith(() => parseGdf(withoutEvents, "t.gdf"), RecordingError, "truncated: the event table");
  const notGdf = bytes.slice();
  notGdf.set(new TextEncoder().encode("0       "), 0);
  throwsWith(
    () => parseGdf(notGdf, "x.edf"),
    RecordingError,
    `x.edf: version field "0" is not "GDF x.yy"`,
  );
  // A trial whose window runs past the end is skipped, and said so.
  const long = await open(path("A01T.gdf"), { window: [2, 9] });
  assert.equal(long.trials.length, 3);
  assert.equal(long.summary.skipped[0].key, "A01T-0003");
  assert.match(
    long.summary.skipped[0].reason,
    /window 2–9 s after sample 5725 runs past the recording/,
  );
  await rejectsWith(
    () => open(path("missing.gdf")),
    RecordingError,
    "missing.gdf: cannot read",
  );
});
