/**
 * `deno task data inspect|export --recordings` as a user runs it on a real BioSig-written
 * motor-imagery GDF (octave-biosig's sample recording, GDF 1.25, 40 trials of two classes) and on
 * its save2gdf conversion to GDF 2.51.
 */
import assert from "node:assert/strict";
import { lmdbFromFlags } from "../compute/cli/recording_flags.ts";
import { LmdbSource } from "../compute/data/lmdb_source.ts";
import { bankName } from "../compute/data/montage.ts";
import { readNpz } from "../compute/io/npz.ts";
import { BIOSIG_SAMPLE_GDF, save2gdf } from "./fixtures/recording_tools.ts";
import { runCliFile } from "./fixtures/cli_run.ts";

const data = (...args: string[]) => runCliFile("data", args);

Deno.test("data export --recordings: a BioSig GDF gives its trials per class; inspect says what was read", async () => {
  const dir = await Deno.makeTempDir();
  const gdf2 = await save2gdf("GDF2", BIOSIG_SAMPLE_GDF, `${dir}/s2.gdf`);
  for (const file of [BIOSIG_SAMPLE_GDF, gdf2]) {
    const out = `${dir}/trials.npz`;
    const r = await data("export", "--recordings", file, "--channels", "C3,Cz,C4,-", "--out", out);
    assert.equal(r.code, 0, r.stderr);
    const npz = await readNpz(out);
    assert.deepEqual(npz.get("eeg")!.shape, [40, 3, 1024]);
    const labels = Array.from(npz.get("labels")!.data as BigInt64Array, Number);
    assert.equal(labels.filter((l) => l === 0).length, 20);
    assert.equal(labels.filter((l) => l === 1).length, 20);
    assert.deepEqual(npz.get("channels")!.data, ["C3", "Cz", "C4"]);
  }
  // Events named on the command line: trials at each cue, 0.5–2.5 s after it.
  const cues = await data(
    "export",
    "--recordings",
    gdf2,
    "--channels",
    "C3,Cz,C4,-",
    "--events",
    "769=left,770=right",
    "--window",
    "0.5,2.5",
    "--out",
    `${dir}/cues.npz`,
  );
  assert.equal(cues.code, 0, cues.stderr);
  assert.deepEqual((await readNpz(`${dir}/cues.npz`)).get("eeg")!.shape, [40, 3, 512]);

  const inspect = await data("inspect", "--recordings", gdf2, "--channels", "C3,Cz,C4,-");
  assert.equal(inspect.code, 0, inspect.stderr);
  const text = inspect.stdout;
  assert.match(
    text,
    /recording {2}.*s2\.gdf: GDF 2\.51, 256 Hz, 97419 samples \(380\.5 s\); BCIC2a trials, window 2–6 s/,
  );
  assert.match(text, /kept {5}Channel 1→C3 Channel 2→Cz Channel 3→C4/);
  assert.match(text, /dropped {2}Channel 5 \(dropped by --channels\)/);
  assert.match(text, /events {3}768: 40, 769: 20, 770: 20, 781: 40, 785: 40, 786: 40/);
  assert.match(text, /classes {2}left_hand: 20, right_hand: 20/);
  // save2gdf's GDF 1.x leaves channel 1's unit blank ("?" to BioSig itself): said so.
  const gdf1 = await save2gdf("GDF1", BIOSIG_SAMPLE_GDF, `${dir}/s1.gdf`);
  const blank = await data("inspect", "--recordings", gdf1, "--channels", "C3,Cz,C4,-");
  assert.equal(blank.code, 0, blank.stderr);
  assert.match(blank.stdout, /note {5}channel "Channel 1" has no unit; its values are taken as µV/);

  // Channels the bank does not know, and no --channels: one readable line, exit 1.
  const unnamed = await data("inspect", "--recordings", gdf2);
  assert.equal(unnamed.code, 1);
  assert.match(
    unnamed.stderr,
    /no channel label is in the position bank \(Channel 1, Channel 2, Channel 3, Channel 5\)/,
  );
  const notRecording = `${dir}/notes.txt`;
  await Deno.writeTextFile(notRecording, "hello");
  const bad = await data("inspect", "--recordings", notRecording);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /notes\.txt: not a recording we read/);
});

Deno.test("recordings: labels match the position bank ignoring case, EEG- prefixes and dots", () => {
  assert.equal(bankName("EEG-c3"), "C3");
  assert.equal(bankName("eeg-cz"), "Cz");
  assert.equal(bankName("eeg-CZ"), "CZ");
  assert.equal(bankName("EEG Fpz"), "Fpz");
  // PhysioNet pads labels with dots; the bank holds its spelling too.
  assert.equal(bankName("Fc5."), "Fc5");
  assert.equal(bankName("C3.."), "C3");
  assert.equal(bankName("EEG-0"), undefined);
  assert.equal(bankName("EOG-left"), undefined);
});

Deno.test("recordings: stages that read LMDBs get the recordings converted, or --db_path", async () => {
  const dir = await Deno.makeTempDir();
  const values = { recordings: [BIOSIG_SAMPLE_GDF], channels: ["C3", "Cz", "C4", "-"] };
  const path = await lmdbFromFlags(values, dir);
  assert.equal(path, `${dir}/recordings.lmdb`);
  const lmdb = await LmdbSource.open(path!);
  try {
    assert.equal(lmdb.trials.length, 40);
    assert.equal(lmdb.sfreq, 256);
    assert.deepEqual(lmdb.channels, ["C3", "Cz", "C4"]);
    // LMDB key order is the recording's time order.
    assert.deepEqual(lmdb.trials.slice(0, 2).map((t) => t.key), ["sample-0000", "sample-0001"]);
  } finally {
    lmdb.close();
  }
  assert.equal(await lmdbFromFlags({ db_path: "/some/lmdb" }, dir), "/some/lmdb");
  await assert.rejects(
    () => lmdbFromFlags({ db_path: "/x", recordings: [BIOSIG_SAMPLE_GDF] }, dir),
    /give either --db_path or --recordings, not both/,
  );
});
