/**
 * The NPZ reader against archives np.savez (stored, ZIP64 local headers) and np.savez_compressed
 * (deflated) wrote, the golden REVE inputs, and writer→reader round trips including forced ZIP64.
 */
import assert from "node:assert/strict";
import { f16, f32, i64, type NdArray, NpyError, str } from "../compute/io/npy.ts";
import {
  crc32,
  decodeNpz,
  encodeNpz,
  encodeZip,
  listZipEntries,
  NpzError,
  readNpz,
  writeNpz,
} from "../compute/io/npz.ts";
import { throwsWith } from "./fixtures/data_helpers.ts";
import { runTool } from "./fixtures/recording_tools.ts";
import { assertValues, expected, ioFixture } from "./fixtures/io_helpers.ts";

const GOLDEN = new URL("./golden/reve-tiny/", import.meta.url);

for (const file of ["stored.npz", "compressed.npz"]) {
  Deno.test(`readNpz ${file} matches numpy's arrays`, async () => {
    const arrays = await readNpz(ioFixture(file));
    assert.deepEqual([...arrays.keys()].sort(), Object.keys(expected.npz).sort());
    for (const [key, want] of Object.entries(expected.npz)) {
      const a = arrays.get(key)!;
      assert.deepEqual(a.shape, want.shape, key);
      assertValues(a.data, want.values, `${file}[${key}]`);
    }
    assert.equal(arrays.get("channels")!.dtype, "U");
    assert.equal(arrays.get("step")!.dtype, "i8");
  });
}

Deno.test("the fixtures exercise both zip methods", () => {
  const methods = (f: string) =>
    listZipEntries(Deno.readFileSync(ioFixture(f)), f).map((e) => e.method);
  assert.deepEqual(new Set(methods("stored.npz")), new Set([0]));
  assert.deepEqual(new Set(methods("compressed.npz")), new Set([8]));
});

Deno.test("golden reve-tiny input.npz and expected.npz have the documented arrays", async () => {
  const input = await readNpz(new URL("input.npz", GOLDEN).pathname);
  assert.deepEqual(input.get("eeg")!.shape, [2, 22, 1000]);
  assert.equal(input.get("eeg")!.dtype, "f4");
  assert.deepEqual(input.get("pos")!.shape, [2, 22, 3]);
  const channels = input.get("channels")!;
  assert.equal(channels.dtype, "U");
  assert.equal(channels.data.length, 22);
  assert.deepEqual((channels.data as string[]).slice(0, 3), ["Fz", "FC3", "FC1"]);
  assert.equal((channels.data as string[])[21], "POz");
  const out = await readNpz(new URL("expected.npz", GOLDEN).pathname);
  assert.deepEqual(out.get("final")!.shape, [2, 22, 5, 64]);
  assert.deepEqual(out.get("hidden.0")!.shape, [2, 110, 64]);
  assert.deepEqual(out.get("attention_pooled")!.shape, [2, 64]);
});

const sample: Record<string, NdArray> = {
  "feature_mean_acts": f32(new Float32Array([0.5, -1, 3e-8, 0]), [2, 2]),
  "top.indices": i64([4, 0, -1]),
  "labels": str(["left", "right", "ñ😀"]),
  "scalar": f32(new Float32Array([2.5]), []),
};

for (
  const options of [{}, { compress: true }, { forceZip64: true }, {
    compress: true,
    forceZip64: true,
  }]
) {
  Deno.test(`encodeNpz → decodeNpz round trip ${JSON.stringify(options)}`, () => {
    const bytes = encodeNpz(sample, options);
    const back = decodeNpz(bytes, "mem.npz");
    assert.deepEqual(Object.fromEntries(back), sample);
    const entries = listZipEntries(bytes, "mem.npz");
    assert.deepEqual(entries.map((e) => e.name), Object.keys(sample).map((k) => `${k}.npy`));
    assert.deepEqual(new Set(entries.map((e) => e.method)), new Set([options.compress ? 8 : 0]));
  });
}

Deno.test("forced ZIP64 writes the ZIP64 end records", () => {
  const bytes = encodeNpz(sample, { forceZip64: true });
  const view = new DataView(bytes.buffer);
  const eocd = bytes.length - 22;
  assert.equal(view.getUint32(eocd - 20, true), 0x07064b50, "ZIP64 locator before the EOCD");
  assert.equal(view.getUint32(eocd + 16, true), 0xffffffff, "EOCD defers the offset to ZIP64");
});

Deno.test("writeNpz then readNpz, from a Map, compressed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-io-" });
  try {
    await writeNpz(`${dir}/f.npz`, new Map(Object.entries(sample)), { compress: true });
    assert.deepEqual(Object.fromEntries(await readNpz(`${dir}/f.npz`)), sample);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("numpy loads a compressed npz we write: every entry deflated, every value", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-io-" });
  try {
    const arrays = {
      ...sample,
      half: f16(new Float32Array([0.5, -1.25, 65504, 2 ** -24]), [2, 2]),
      zeros: f32(new Float32Array(4096)),
    };
    await writeNpz(`${dir}/c.npz`, arrays, { compress: true });
    const report = await runTool("/usr/bin/python3", [
      "-c",
      "import sys, json, zipfile, numpy\n" +
      "z = numpy.load(sys.argv[1])\n" +
      "methods = sorted({i.compress_type for i in zipfile.ZipFile(sys.argv[1]).infolist()})\n" +
      "print(json.dumps({'methods': methods, 'arrays': {k: {'dtype': z[k].dtype.str, " +
      "'shape': list(z[k].shape), 'values': z[k].ravel().tolist()} for k in z.files}}))",
      `${dir}/c.npz`,
    ]);
    const got = JSON.parse(report);
    assert.deepEqual(got.methods, [8]);
    assert.deepEqual(Object.keys(got.arrays), Object.keys(arrays));
    for (const [k, a] of Object.entries(arrays)) {
      const g = got.arrays[k];
      assert.equal(g.dtype.slice(1), a.dtype === "U" ? g.dtype.slice(1) : a.dtype, k);
      assert.deepEqual(g.shape, a.shape, k);
      assert.deepEqual(
        g.values,
        Array.from(a.data as ArrayLike<unknown>, (v) => typeof v === "bigint" ? Number(v) : v),
        k,
      );
    }
    assert.ok((await Deno.stat(`${dir}/c.npz`)).size < 4096, "4,096 zeros deflate");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("crc32 matches the standard check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("corrupt and truncated archives fail naming the file and entry", () => {
  const good = Deno.readFileSync(ioFixture("stored.npz"));
  const entry = listZipEntries(good, "stored.npz").find((e) => e.name === "eeg.npy")!;
  const flipped = good.slice();
  flipped[entry.localHeaderOffset + 200] ^= 0xff; // inside eeg.npy's data
  throwsWith(() => decodeNpz(flipped, "x.npz"), NpzError, "x.npz[eeg.npy]: CRC mismatch");
  throwsWith(
    () => decodeNpz(good.slice(0, good.length - 30), "cut.npz"),
    NpzError,
    "cut.npz: not a zip archive",
  );
  const deflated = Deno.readFileSync(ioFixture("compressed.npz"));
  const e0 = listZipEntries(deflated, "c.npz")[0];
  const broken = deflated.slice();
  broken.fill(0xff, e0.localHeaderOffset + 80, e0.localHeaderOffset + 90);
  throwsWith(() => decodeNpz(broken, "c.npz"), NpzError, /c\.npz\[\w+\.npy\]/);
});

Deno.test("non-.npy entries and bad arrays inside are reported", () => {
  const notNpy = encodeNpz({ a: f32(new Float32Array([1])) });
  // Rename the entry "a.npy" to "a.txt" in both the local header and central directory.
  const text = new TextDecoder("latin1").decode(notNpy).replaceAll("a.npy", "a.txt");
  const renamed = Uint8Array.from(text, (c) => c.charCodeAt(0));
  throwsWith(
    () => decodeNpz(renamed, "r.npz"),
    NpzError,
    "r.npz: entry 'a.txt' is not an .npy array",
  );
  const badArray = encodeZip([["a.npy", new TextEncoder().encode("not an array")]]);
  throwsWith(() => decodeNpz(badArray, "b.npz"), NpyError, "b.npz[a]: not an NPY file (bad magic");
});
