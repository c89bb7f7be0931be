/**
 * EDF, EDF+ and BDF read against BioSig (`save2gdf -f=ASCII`): EDF+C and EDF+D files with TAL
 * annotations, and BioSig's sample recording with a status channel converted by save2gdf to GDF
 * 1.x, GDF 2.x, EDF and BDF, which must give the same trials in every format.
 */
import assert from "node:assert/strict";
import { readRecording } from "../compute/data/recording_files.ts";
import { RecordingSource } from "../compute/data/recording_source.ts";
import { BIOSIG_SAMPLE_GDF, biosigAscii, runTool, save2gdf } from "./fixtures/recording_tools.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

Deno.test("edf+: TAL annotations and samples of EDF+C and EDF+D read as BioSig reads them", async () => {
  const dir = await Deno.makeTempDir();
  await runTool("python3", [fixture("write_edfplus.py"), dir]);
  for (const name of ["plus_c.edf", "plus_d.edf"]) {
    const file = `${dir}/${name}`;
    const rec = await readRecording(file);
    const ref = await biosigAscii(file);
    assert.equal(rec.format, "EDF+");
    assert.equal(rec.sfreq, 100);
    assert.deepEqual(rec.channels.map((c) => c.label), ref.channels.map((c) => c.label));
    assert.deepEqual(rec.omitted, [{ label: "EDF Annotations", reason: "annotations" }]);
    rec.channels.forEach((_, c) => {
      const want = ref.channels[c].values;
      assert.equal(want.length, rec.samples);
      want.forEach((w, i) => {
        const got = rec.signals[c * rec.samples + i];
        assert.ok(
          Math.abs(got - w) <= 1e-5 * Math.abs(w) + 1e-4,
          `${name} ${c}[${i}]: ${got} vs ${w}`,
        );
      });
    });
    // BioSig marks every EDF+D record as a new segment (0x7ffe); the annotations themselves agree.
    const annotations = ref.events.filter((e) => e.type !== 0x7ffe);
    assert.deepEqual(
      rec.events.map((e) => [e.code, e.position / 100, e.duration / 100]),
      annotations.map((e) => [e.desc, e.pos, e.dur]),
      name,
    );
  }
  // Trials from annotations; in EDF+D a window across the gap is skipped with the reason.
  const c = await RecordingSource.open(await readRecording(`${dir}/plus_c.edf`), {
    events: [{ code: "T1", name: "left" }, { code: "T2", name: "right" }],
    window: [0, 0.5],
  });
  assert.deepEqual(c.trials.map((t) => t.label), [0, 1, 0]);
  assert.deepEqual(c.channels, ["C3", "Cz", "C4"]);
  const d = await RecordingSource.open(await readRecording(`${dir}/plus_d.edf`), {
    events: [{ code: "T1", name: "left" }, { code: "T2", name: "right" }],
    window: [0, 1],
  });
  assert.deepEqual(d.trials.map((t) => [t.key, t.label, t.run]), [
    ["plus_d-0000", 0, 0],
    ["plus_d-0002", 0, 1],
  ]);
  assert.deepEqual(d.summary.skipped, [{
    key: "plus_d-0001",
    reason: "window 0–1 s crosses a gap in the recording",
  }]);
});

Deno.test("edf/bdf/gdf: one recording converted by save2gdf gives the same trials in every format", async () => {
  const dir = await Deno.makeTempDir();
  const gdf2 = `${dir}/st.gdf`;
  await runTool("octave", [
    "--no-gui",
    "-q",
    fixture("write_status_gdf.m"),
    BIOSIG_SAMPLE_GDF,
    gdf2,
  ]);
  const files = {
    "GDF 2.22": gdf2,
    "GDF 1.25": await save2gdf("GDF1", gdf2, `${dir}/st1.gdf`),
    "EDF": await save2gdf("EDF", gdf2, `${dir}/st.edf`),
    "BDF": await save2gdf("BDF", gdf2, `${dir}/st.bdf`),
  };
  const reference = await RecordingSource.open(await readRecording(gdf2));
  assert.equal(reference.trials.length, 40);
  assert.deepEqual(reference.summary.dropped, [{
    label: "Status",
    reason: "not in the position bank",
  }]);
  // save2gdf requantises: EDF to 16 bits of each channel's range, BDF to the source's digital
  // range (1 µV steps here); samples agree within that step.
  const step: Record<string, number> = { "GDF 2.22": 0, "GDF 1.25": 1e-4, "EDF": 2e-3, "BDF": 1 };
  for (const [what, file] of Object.entries(files)) {
    const rec = await readRecording(file);
    const ref = await biosigAscii(file);
    // Our samples are BioSig's for each file.
    rec.channels.slice(0, 4).forEach((_, c) => {
      for (const i of [0, 1000, 50000, rec.samples - 1]) {
        const w = ref.channels[c].values[i];
        assert.ok(Math.abs(rec.signals[c * rec.samples + i] - w) <= 1e-5 * Math.abs(w) + 1e-5);
      }
    });
    const s = await RecordingSource.open(rec);
    assert.equal(s.summary.protocol, "BCIC2a", what);
    assert.deepEqual(s.trials.map((t) => t.label), reference.trials.map((t) => t.label), what);
    assert.deepEqual(s.channels, ["C3", "Cz", "C4", "Pz"]);
    for (let i = 0; i < s.trials.length; i += 13) {
      const [a, b] = [await s.read(i), await reference.read(i)];
      const diff = a.eeg.reduce((m, v, j) => Math.max(m, Math.abs(v - b.eeg[j])), 0);
      assert.ok(diff <= step[what] + 1e-4, `${what} trial ${i}: differs by ${diff} µV`);
    }
  }
});
