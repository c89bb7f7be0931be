/**
 * LMDB reading on databases written by Python's py-lmdb + pickle
 * (tests/fixtures/make_data_fixtures.py): exports equal what Python wrote, bit for bit.
 */
import assert from "node:assert/strict";
import { readNpy } from "../compute/io/npy.ts";
import { readNpz } from "../compute/io/npz.ts";
import { exportTrials } from "../compute/data/export.ts";
import { LmdbSource, LmdbSourceError } from "../compute/data/lmdb_source.ts";
import { writeTrialLmdb } from "../compute/data/lmdb_writer.ts";
import { loadTrialSet, trialBatches } from "../compute/data/trials.ts";
import { rejectsWith, scratchCopy } from "./fixtures/data_helpers.ts";

const DIR = new URL("./fixtures/data/lmdb/", import.meta.url);
const PY_KEYS: string[] = JSON.parse(Deno.readTextFileSync(new URL("keys.json", DIR)));
const CASES = [
  { name: "reve_p4", layout: "[C,T]", dtype: "f4", labelKind: "int", splits: "subject" },
  { name: "cbramod_p5", layout: "[C,p,P]", dtype: "f8", labelKind: "int", splits: "__keys__" },
  { name: "old_p2", layout: "[C,T]", dtype: "f4", labelKind: "int", splits: "__keys__" },
  { name: "f64_p4_keys", layout: "[C,T]", dtype: "f8", labelKind: "int", splits: "__keys__" },
];

async function open(name: string, options = {}): Promise<LmdbSource> {
  return LmdbSource.open(await scratchCopy(new URL(`${name}/`, DIR)), options);
}

for (const c of CASES) {
  Deno.test(`lmdb ${c.name}: export equals what Python wrote, bit for bit`, async () => {
    const source = await open(c.name);
    const out = `${await Deno.makeTempDir()}/trials.npz`;
    try {
      assert.equal(source.layout.layout, c.layout);
      assert.equal(source.layout.dtype, c.dtype);
      assert.equal(source.layout.labelKind, c.labelKind);
      assert.equal(source.splitSource, c.splits);
      await exportTrials(source, out);
    } finally {
      source.close();
    }
    const npz = await readNpz(out);
    const eeg = npz.get("eeg")!, keys = npz.get("keys")!.data as string[];
    const expected = await readNpy(new URL(`${c.name}_eeg.npy`, DIR).pathname);
    const expectedLabels = await readNpy(new URL(`${c.name}_labels.npy`, DIR).pathname);
    const [N, C, T] = expected.shape;
    assert.deepEqual(eeg.shape, [N, C, T]);
    assert.equal(eeg.dtype, "f4");
    assert.deepEqual([...keys].sort(), [...PY_KEYS].sort());
    const got = eeg.data as Float32Array, want = expected.data as Float32Array;
    const labels = npz.get("labels")!.data as BigInt64Array;
    const subjects = npz.get("subjects")!.data as BigInt64Array;
    const sessions = npz.get("sessions")!.data as string[];
    const split = npz.get("split")!.data as string[];
    keys.forEach((key, i) => {
      const j = PY_KEYS.indexOf(key);
      const a = got.subarray(i * C * T, (i + 1) * C * T);
      const b = want.subarray(j * C * T, (j + 1) * C * T);
      assert.deepEqual(new Uint32Array(a.slice().buffer), new Uint32Array(b.slice().buffer), key);
      assert.equal(labels[i], (expectedLabels.data as BigInt64Array)[j]);
      assert.equal(Number(subjects[i]), Number(key.slice(1, 3)));
      assert.equal(sessions[i], key[3]);
      // The fixture's __keys__ puts the first four keys in train, then one val and one test;
      // the subject rule (1–5 train, 6–7 val, 8–9 test) agrees on these keys.
      assert.equal(split[i], j < 4 ? "train" : j === 4 ? "val" : "test", key);
    });
    assert.deepEqual(npz.get("channels")!.data, [
      ..."Fz FC3 FC1 FCz FC2 FC4 C5 C3 C1 Cz C2 C4 C6 CP3 CP1 CPz CP2 CP4 P1 Pz P2 POz".split(" "),
    ]);
    assert.equal((npz.get("sfreq")!.data as Float64Array)[0], 200);
    const record = JSON.parse((npz.get("preprocessing")!.data as string[])[0]);
    assert.equal(record.scaling, "none");
  });
}

Deno.test("lmdb: streaming batches equal the in-memory set; unit scale applies", async () => {
  const source = await open("reve_p4", { unitScale: 0.5, sfreq: 250 });
  try {
    assert.equal(source.sfreq, 250);
    const set = await loadTrialSet(source);
    const per = 22 * source.samples;
    let seen = 0;
    for await (const b of trialBatches(source, { batchSize: 4 })) {
      assert.deepEqual(b.eeg, set.eeg.subarray(seen * per, (seen + b.indices.length) * per));
      seen += b.indices.length;
    }
    assert.equal(seen, 6);
    const py = await readNpy(new URL("reve_p4_eeg.npy", DIR).pathname);
    const key = set.keys[0];
    const j = PY_KEYS.indexOf(key);
    assert.equal(set.eeg[5], (py.data as Float32Array)[j * per + 5] * 0.5);
  } finally {
    source.close();
  }
});

Deno.test("lmdb: an empty database is an error naming it", async () => {
  const path = await scratchCopy(new URL("empty/", DIR));
  await rejectsWith(
    () => LmdbSource.open(path),
    LmdbSourceError,
    `${path}: the database holds no trials`,
  );
});

Deno.test("lmdb: a directory without data.mdb is an error", async () => {
  const path = await Deno.makeTempDir();
  await rejectsWith(() => LmdbSource.open(path), LmdbSourceError, "not an LMDB database directory");
});

Deno.test("lmdb: bad values name their key; --skip_bad skips and lists them", async () => {
  const path = await scratchCopy(new URL("bad/", DIR));
  await rejectsWith(
    () => LmdbSource.open(path),
    LmdbSourceError,
    /key "A01T-0-1": not a binary pickle .*--skip_bad/,
  );
  const source = await LmdbSource.open(path, { skipBad: true });
  try {
    assert.deepEqual(source.trials.map((t) => t.key), ["A01T-0-0", "A01T-0-4"]);
    const reasons = Object.fromEntries(source.skipped.map((s) => [s.key, s.reason]));
    assert.match(reasons["A01T-0-1"], /not a binary pickle/);
    assert.match(reasons["A01T-0-2"], /sample has 21 channels \(shape \[21,10\]\), expected 22/);
    assert.match(reasons["A01T-0-3"], /sample holds NaN at channel 3, time 7/);
  } finally {
    source.close();
  }
});

Deno.test("lmdb writer: what we write reads back with splits; wrong sizes are refused", async () => {
  const path = `${await Deno.makeTempDir()}/db`;
  const eeg = Float32Array.from({ length: 22 * 5 }, (_, i) => i / 7);
  const summary = await writeTrialLmdb(
    path,
    [{ key: "A03E-0-0", label: 2, eeg }, { key: "A03E-0-1", label: 0, eeg }],
    {
      channels: 22,
      samples: 5,
      expectedTrials: 2,
      splits: { train: [], val: ["A03E-0-1"], test: [] },
    },
  );
  assert.equal(summary.trials, 2);
  const source = await LmdbSource.open(path);
  try {
    assert.equal(source.splitSource, "__keys__");
    assert.deepEqual(source.trials, [
      { key: "A03E-0-0", label: 2, subject: 3, session: "E" },
      { key: "A03E-0-1", label: 0, subject: 3, session: "E", split: "val" },
    ]);
    assert.deepEqual((await source.read(1)).eeg, eeg);
  } finally {
    source.close();
  }
  await rejectsWith(
    () =>
      writeTrialLmdb(`${path}2`, [{ key: "k", label: 0, eeg: new Float32Array(3) }], {
        channels: 22,
        samples: 5,
        expectedTrials: 1,
      }),
    Error,
    `trial "k" has 3 values, expected 22×5`,
  );
  await rejectsWith(
    () => writeTrialLmdb(path, [], { channels: 22, samples: 5, expectedTrials: 0 }),
    Error,
    "an LMDB already exists there",
  );
});
