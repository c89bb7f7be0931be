/**
 * MAT level 5 written by GNU Octave (`save -v6`, `-v7`) and SciPy (`savemat`), read against what
 * SciPy's `loadmat` reads from the same files: cells, structs, struct arrays, nesting, chars,
 * compressed and plain; and a BNCI-layout `A01T.mat` (MOABB's BCIC2a) as trials with labels, runs
 * and artifact flags.
 */
import assert from "node:assert/strict";
import { type MatValue, parseMat } from "../compute/io/mat.ts";
import { exportTrials } from "../compute/data/export.ts";
import { openRecordings } from "../compute/data/recording_files.ts";
import { readNpz } from "../compute/io/npz.ts";
import { runTool } from "./fixtures/recording_tools.ts";

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** Every fixture, written once into a fresh folder: Octave's and SciPy's. */
let written: Promise<string> | undefined;
function writeMatFiles(): Promise<string> {
  written ??= (async () => {
    const dir = await Deno.makeTempDir();
    await runTool("octave", ["--no-gui", "-q", fixture("write_mat_files.m"), dir]);
    await runTool("python3", [fixture("write_mat_files.py"), "write", dir]);
    return dir;
  })();
  return written;
}

/** Our value in the JSON form the Python side gives loadmat's. */
function plain(v: MatValue): unknown {
  switch (v.kind) {
    case "numeric":
      return { numeric: [...v.data], dims: v.dims };
    case "char":
      return { char: v.text, dims: v.dims };
    case "cell":
      return { cell: v.cells.map(plain), dims: v.dims };
    case "struct":
      return {
        struct: v.fields.map((f) => [f, v.elements.map((e) => plain(e.get(f)!))]),
        dims: v.dims,
      };
    default:
      return { other: v.className };
  }
}

Deno.test("mat: Octave -v6/-v7 and SciPy trees of cells, structs, struct arrays, both byte orders, read as loadmat reads them", async () => {
  const dir = await writeMatFiles();
  // Both byte orders: the uncompressed files re-encoded big-endian, which loadmat reads the same.
  const script = fixture("write_mat_files.py");
  await runTool("python3", [script, "swap", `${dir}/tree_scipy.mat`, `${dir}/tree_scipy_be.mat`]);
  await runTool("python3", [
    script,
    "swap",
    `${dir}/tree_octave_v6.mat`,
    `${dir}/tree_octave_be.mat`,
  ]);
  const files = [
    "tree_octave_v6.mat",
    "tree_octave_v7.mat",
    "tree_scipy.mat",
    "tree_scipy_be.mat",
    "tree_octave_be.mat",
  ].map((f) => `${dir}/${f}`);
  const ref = JSON.parse(
    await runTool("python3", [fixture("write_mat_files.py"), "read", ...files]),
  );
  for (const file of files) {
    const mat = parseMat(await Deno.readFile(file), file);
    const ours = Object.fromEntries([...mat.variables].map(([k, v]) => [k, plain(v)]));
    assert.deepEqual(ours, ref[file], file);
  }
  assert.equal(new TextDecoder().decode((await Deno.readFile(files[3])).subarray(126, 128)), "MI");
  assert.deepEqual(ref[files[3]], ref[files[2]]);
  assert.deepEqual(ref[files[4]], ref[files[0]]);
});

Deno.test("mat: a BNCI-layout A01T.mat (Octave and SciPy) reads as BCIC2a trials with labels, runs and artifacts", async () => {
  const dir = await writeMatFiles();
  const names = ["bnci_octave_v6.mat", "bnci_octave_v7.mat", "bnci_scipy.mat"];
  const ref = JSON.parse(
    await runTool("python3", [
      fixture("write_mat_files.py"),
      "bnci",
      ...names.map((n) => `${dir}/${n}`),
    ]),
  );
  for (const name of names) {
    // BCIC2a's file name, so the subject and session are read from it.
    const file = `${dir}/${name.replace(".mat", "")}/A01T.mat`;
    await Deno.mkdir(file.replace("/A01T.mat", ""));
    await Deno.copyFile(`${dir}/${name}`, file);
    const runs: {
      dims: number[];
      samples: number[][];
      trial: number[];
      y: number[];
      artifacts: number[];
    }[] = ref[`${dir}/${name}`];
    const source = await openRecordings([file]);
    const rec = source.sources[0].recording;
    assert.equal(rec.format, "MAT (BNCI)");
    assert.equal(rec.sfreq, 250);
    assert.deepEqual(rec.segments, [0, 600, 4600]);
    // Samples: X[row, col] of each run lands at the run's offset in channel col.
    runs.forEach((run, r) => {
      for (const [row, col, value] of run.samples) {
        assert.equal(
          rec.signals[col * rec.samples + rec.segments[r] + row],
          Math.fround(value),
          name,
        );
      }
    });
    const trials = runs.flatMap((run, r) =>
      run.trial.map((t, i) => ({
        run: r,
        start: t - 1,
        label: run.y[i] - 1,
        rejected: run.artifacts[i] === 1,
      }))
    );
    assert.deepEqual(source.channels.length, 22);
    assert.deepEqual(source.trials.map((t) => t.label), trials.map((t) => t.label), name);
    assert.deepEqual(source.trials.map((t) => t.run), trials.map((t) => t.run), name);
    assert.deepEqual(source.trials.map((t) => t.rejected), trials.map((t) => t.rejected), name);
    assert.ok(source.trials.every((t) => t.subject === 1 && t.session === "T"));
    assert.equal(source.samples, 1000);
    // A trial's window is X's rows 2–6 s after the trial's start.
    const k = 5, t = trials[k];
    const trial = await source.read(k);
    const x = rec.signals;
    for (const [c, s] of [[0, 0], [7, 999], [21, 123]]) {
      assert.equal(
        trial.eeg[c * 1000 + s],
        x[c * rec.samples + rec.segments[t.run] + t.start + 500 + s],
      );
    }
    // Exported: the trials and labels the file holds, with runs and artifact flags.
    const out = `${dir}/${name}.npz`;
    await exportTrials(source, out);
    const npz = await readNpz(out);
    assert.deepEqual(npz.get("eeg")!.shape, [8, 22, 1000]);
    assert.deepEqual(
      Array.from(npz.get("labels")!.data as BigInt64Array, Number),
      trials.map((t) => t.label),
    );
    assert.deepEqual(Array.from(npz.get("runs")!.data as BigInt64Array, Number), [
      1,
      1,
      1,
      1,
      2,
      2,
      2,
      2,
    ]);
    assert.deepEqual(
      [...(npz.get("rejected")!.data as Uint8Array)],
      trials.map((t) => t.rejected ? 1 : 0),
    );
  }
});

Deno.test("mat: v7.3, truncation and a corrupt BNCI file are errors naming the file and the field", async () => {
  const dir = await writeMatFiles();
  const bytes = await Deno.readFile(`${dir}/bnci_octave_v6.mat`);
  assert.throws(
    () => parseMat(bytes.subarray(0, 5000), "t.mat"),
    /t\.mat: data element of type 14 at byte 0 claims/,
  );
  const v73 = bytes.slice();
  v73.set(new TextEncoder().encode("MATLAB 7.3 MAT-file"));
  assert.throws(() => parseMat(v73, "v.mat"), /v\.mat: is a v7\.3 \(HDF5\) MAT-file/);
  const other = await Deno.makeTempDir();
  await Deno.copyFile(`${dir}/tree_scipy.mat`, `${other}/A01T.mat`);
  await assert.rejects(
    () => openRecordings([`${other}/A01T.mat`]),
    /A01T\.mat: not in the BNCI layout \(a cell of structs with X, trial, y, fs\); variables: people \(struct\)/,
  );
  await assert.rejects(
    () => openRecordings([`${dir}/bnci_bad.mat`]),
    /bnci_bad\.mat: data\{2\}: trial 4 starts at sample 99999, outside 1\.\.4000/,
  );
});
