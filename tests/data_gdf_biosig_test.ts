/**
 * GDF files written by BioSig, the reference implementation, read back against what BioSig itself
 * reads from them (`save2gdf -f=ASCII`): every version it writes (1.25, 2.11, 2.22, 2.51), every
 * fixed-size GDFTYP, event tables in modes 1 and 3, and a real GDF 1.25 motor-imagery recording
 * with its save2gdf conversions to GDF 1.x, GDF 2.x, EDF and BDF.
 */
import assert from "node:assert/strict";
import { parseEdf } from "../compute/data/edf_reader.ts";
import { parseGdf } from "../compute/data/gdf_reader.ts";
import type { Recording } from "../compute/data/recording.ts";
import { readRecording } from "../compute/data/recording_files.ts";
import { RecordingSource } from "../compute/data/recording_source.ts";
import {
  BIOSIG_SAMPLE_GDF,
  type BiosigAscii,
  biosigAscii,
  runTool,
  save2gdf,
} from "./fixtures/recording_tools.ts";

const WRITER = new URL("./fixtures/write_gdf_types.m", import.meta.url).pathname;

/** Samples agree with BioSig's to the 6 significant digits its ASCII output keeps. */
function assertSameAsBiosig(rec: Recording, ref: BiosigAscii, what: string): void {
  assert.equal(rec.channels.length, ref.channels.length, `${what}: channels`);
  rec.channels.forEach((ch, c) => {
    assert.equal(ch.label, ref.channels[c].label, `${what}: label ${c}`);
    // EDF keeps 8 characters of record duration (0.0039064 s); we take the whole rate it rounds.
    assert.ok(Math.abs(rec.sfreq / ref.channels[c].sfreq - 1) < 1e-4, `${what}: rate`);
    const want = ref.channels[c].values;
    assert.equal(rec.samples, want.length, `${what}: samples of ${ch.label}`);
    const got = rec.signals.subarray(c * rec.samples, (c + 1) * rec.samples);
    for (let i = 0; i < want.length; i++) {
      const tol = 6e-6 * Math.max(Math.abs(want[i]), 1e-2);
      if (!(Math.abs(got[i] - want[i]) <= tol)) {
        assert.fail(`${what}: ${ch.label}[${i}] = ${got[i]}, BioSig reads ${want[i]}`);
      }
    }
  });
}

/** Events agree in type, position (s), duration (s) and channel, ordered by time then type. */
function assertSameEvents(rec: Recording, ref: BiosigAscii, what: string): void {
  const byTime = (a: number[], b: number[]) => a[1] - b[1] || a[0] - b[0];
  const got = rec.events.map((
    e,
  ) => [Number(e.code), e.position / rec.sfreq, e.duration / rec.sfreq, e.channel])
    .sort(byTime);
  const want = ref.events.map((e) => [e.type, e.pos, e.dur, e.chn]).sort(byTime);
  assert.equal(got.length, want.length, `${what}: event count`);
  got.forEach((g, i) => {
    const w = want[i];
    const ok = g[0] === w[0] && Math.abs(g[1] - w[1]) < 1e-5 && Math.abs(g[2] - w[2]) < 1e-5 &&
      g[3] === w[3];
    assert.ok(ok, `${what}: event ${i} is [${g}], BioSig reads [${w}]`);
  });
}

Deno.test("gdf (BioSig): every version and GDFTYP BioSig writes reads to BioSig's own values", async () => {
  const dir = await Deno.makeTempDir();
  await runTool("octave", ["--no-gui", "-q", WRITER, dir]);
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  // 4 versions × 10 GDFTYPs, one file with a mode-1 event table, one with a 512 Hz event rate.
  assert.equal(files.length, 42, files.join(" "));
  for (const name of files) {
    const file = `${dir}/${name}`;
    const rec = parseGdf(await Deno.readFile(file), file);
    const ref = await biosigAscii(file);
    assert.equal(rec.version, `${name[1]}.${name.slice(2, 4)}`, `${name}: version`);
    assert.equal(rec.sfreq, 128, name);
    assertSameAsBiosig(rec, ref, name);
    assertSameEvents(rec, ref, name);
    if (name.includes("evrate")) {
      // Positions and durations at 512 Hz become samples at 128 Hz.
      assert.deepEqual(rec.events.map((e) => [e.position, e.code, e.duration]), [
        [5, "769", 2],
        [75, "770", 5],
      ]);
    } else if (name.includes("mode1")) {
      assert.deepEqual(rec.events.map((e) => [e.position, e.code, e.duration]), [
        [19, "769", 0],
        [149, "770", 0],
      ]);
    } else {
      assert.deepEqual(rec.events.map((e) => [e.code, e.channel]), [["769", 0], ["770", 0], [
        "1023",
        2,
      ]]);
    }
  }
});

Deno.test("gdf (BioSig): a real GDF 1.25 recording and its save2gdf conversions read as BioSig reads them", async () => {
  const dir = await Deno.makeTempDir();
  const files: Record<string, string> = {
    "GDF 1.25 (original)": BIOSIG_SAMPLE_GDF,
    "GDF1": await save2gdf("GDF1", BIOSIG_SAMPLE_GDF, `${dir}/s1.gdf`),
    "GDF2": await save2gdf("GDF2", BIOSIG_SAMPLE_GDF, `${dir}/s2.gdf`),
    "EDF": await save2gdf("EDF", BIOSIG_SAMPLE_GDF, `${dir}/s.edf`),
    "BDF": await save2gdf("BDF", BIOSIG_SAMPLE_GDF, `${dir}/s.bdf`),
  };
  // BDF back to GDF keeps its 24-bit samples: GDFTYP 279 (int24), packed.
  files["GDF2 int24"] = await save2gdf("GDF2", files.BDF, `${dir}/s24.gdf`);
  for (const [what, file] of Object.entries(files)) {
    const rec = await readRecording(file);
    const ref = await biosigAscii(file);
    assertSameAsBiosig(rec, ref, what);
    assertSameEvents(rec, ref, what);
  }
  const int24 = await Deno.readFile(files["GDF2 int24"]);
  const typeAt = 256 + 4 * (16 + 80 + 6 + 2 + 32 + 68 + 12 + 4);
  assert.equal(new DataView(int24.buffer).getUint32(typeAt, true), 279);
  const v2 = await readRecording(files.GDF2);
  assert.equal(v2.version, "2.51");
  assert.equal((await readRecording(files.GDF1)).version, "1.25");
  assert.equal((await readRecording(files.EDF)).format, "EDF+");
  assert.equal((await readRecording(files.BDF)).format, "BDF+");
  // The same trials from every GDF: 40 trials, 20 per class, the same samples.
  const trialsOf = async (file: string) => {
    const s = await RecordingSource.open(await readRecording(file), {
      channels: ["C3", "Cz", "C4", "-"],
    });
    return { s, first: await s.read(0), last: await s.read(s.trials.length - 1) };
  };
  const original = await trialsOf(BIOSIG_SAMPLE_GDF);
  assert.equal(original.s.trials.length, 40);
  assert.equal(original.s.trials.filter((t) => t.label === 0).length, 20);
  assert.equal(original.s.trials.filter((t) => t.label === 1).length, 20);
  assert.equal(original.s.samples, 4 * 256);
  for (const f of [files.GDF1, files.GDF2]) {
    const other = await trialsOf(f);
    assert.deepEqual(other.s.trials.map((t) => t.label), original.s.trials.map((t) => t.label));
    // save2gdf requantises by up to one 16-bit step of ±100 µV.
    for (const [a, b] of [[other.first, original.first], [other.last, original.last]]) {
      const diff = a.eeg.reduce((m, v, j) => Math.max(m, Math.abs(v - b.eeg[j])), 0);
      assert.ok(diff <= 200 / 65535 + 1e-6, `differs by ${diff} µV`);
    }
  }
  // The first trial's window is BioSig's samples 2–6 s after the first trial-start event.
  const ref = await biosigAscii(BIOSIG_SAMPLE_GDF);
  const start = Math.round(ref.events.find((e) => e.type === 768)!.pos * 256) + 512;
  for (const [c, t] of [[0, 0], [1, 500], [2, 1023]]) {
    const want = ref.channels[c].values[start + t];
    assert.ok(Math.abs(original.first.eeg[c * 1024 + t] - want) <= 1e-5 * Math.abs(want) + 1e-6);
  }
});

Deno.test("gdf/edf: truncated and corrupted files are errors naming the file and the field", async () => {
  const bytes = await Deno.readFile(BIOSIG_SAMPLE_GDF);
  const cases: [Uint8Array, RegExp][] = [
    [bytes.subarray(0, 100), /t\.gdf: truncated: 100 bytes, a GDF header needs 256/],
    [bytes.subarray(0, 600), /t\.gdf: truncated: header needs 1280 bytes/],
    [
      bytes.subarray(0, 5000),
      /t\.gdf: truncated: 97419 records of 8 bytes need \d+ bytes, file has 5000/,
    ],
    [bytes.subarray(0, bytes.length - 20), /t\.gdf: truncated: the event table of 200 events/],
  ];
  for (const [b, message] of cases) assert.throws(() => parseGdf(b, "t.gdf"), message);
  const badType = bytes.slice();
  new DataView(badType.buffer).setUint32(256 + 4 * (16 + 80 + 8 + 32 + 80) + 4 * 4, 99, true);
  assert.throws(() => parseGdf(badType, "t.gdf"), /channel 1 "Channel 1": field GDFTYP is 99/);
  const nanLimit = bytes.slice();
  new DataView(nanLimit.buffer).setFloat64(256 + 4 * (16 + 80 + 8), NaN, true);
  assert.throws(
    () => parseGdf(nanLimit, "t.gdf"),
    /channel 1 "Channel 1": fields PhysMin, PhysMax, DigMin, DigMax are NaN, 100, -32768, 32767/,
  );
  const badMode = bytes.slice();
  badMode[1280 + 97419 * 8] = 2;
  assert.throws(() => parseGdf(badMode, "t.gdf"), /event table field mode is 2, expected 1 or 3/);
  const noDur = bytes.slice();
  new DataView(noDur.buffer).setUint32(248, 0, true);
  assert.throws(() => parseGdf(noDur, "t.gdf"), /header field Dur \(record duration\) is Infinity/);
  const mixed = bytes.slice();
  new DataView(mixed.buffer).setUint32(256 + 4 * (16 + 80 + 8 + 32 + 80), 2, true);
  assert.throws(
    () => parseGdf(mixed, "t.gdf"),
    /channels have different sampling rates \(Channel 1 512 Hz, Channel 2 256 Hz/,
  );
  const dir = await Deno.makeTempDir();
  const edf = await Deno.readFile(await save2gdf("EDF", BIOSIG_SAMPLE_GDF, `${dir}/s.edf`));
  assert.throws(
    () => parseEdf(edf.subarray(0, 3000), "t.edf"),
    /t\.edf: truncated: 97419 records of 8 bytes/,
  );
  const badRecords = edf.slice();
  badRecords.set(new TextEncoder().encode("abc     "), 236);
  assert.throws(
    () => parseEdf(badRecords, "t.edf"),
    /t\.edf: header field "number of data records" is "abc", expected an integer/,
  );
  const badMin = edf.slice();
  badMin.set(new TextEncoder().encode("x"), 256 + 4 * (16 + 80 + 8));
  assert.throws(() => parseEdf(badMin, "t.edf"), /signal 1 "Channel 1" physical minimum" is "x/);
  const bdf = await Deno.readFile(await save2gdf("BDF", BIOSIG_SAMPLE_GDF, `${dir}/s.bdf`));
  assert.throws(
    () => parseEdf(bdf.subarray(0, 3000), "t.bdf"),
    /t\.bdf: truncated: 97419 records of 12 bytes/,
  );
  const badSpr = bdf.slice();
  badSpr.set(new TextEncoder().encode("x       "), 256 + 4 * (16 + 80 + 8 * 5 + 80));
  assert.throws(
    () => parseEdf(badSpr, "t.bdf"),
    /t\.bdf: header field "signal 1 "Channel 1" samples per record" is "x", expected an integer/,
  );
});
