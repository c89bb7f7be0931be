/**
 * The pickle decoder against pickles written by Python's own pickle + numpy
 * (tests/fixtures/make_data_fixtures.py), and the encoder against the decoder and Python's
 * byte layout for numpy arrays.
 */
import assert from "node:assert/strict";
import { readNpy } from "../compute/io/npy.ts";
import {
  decodePickle,
  isNdArray,
  PickleError,
  PickleTuple,
  type PickleValue,
} from "../compute/io/pickle_decode.ts";
import { encodePickle } from "../compute/io/pickle_encode.ts";
import { throwsWith } from "./fixtures/data_helpers.ts";

const DIR = new URL("./fixtures/data/pickle/", import.meta.url);
const read = (name: string) => Deno.readFileSync(new URL(name, DIR));

function dict(v: PickleValue): Map<unknown, PickleValue> {
  assert.ok(v instanceof Map, "expected a dict");
  return v;
}

for (const p of [2, 3, 4, 5]) {
  Deno.test(`pickle protocol ${p}: plain Python values`, () => {
    const d = dict(decodePickle(read(`plain_p${p}.pkl`)));
    assert.deepStrictEqual(d.get("int"), 5);
    assert.deepStrictEqual(d.get("int2"), 300);
    assert.deepStrictEqual(d.get("neg"), -70000);
    assert.deepStrictEqual(d.get("big"), 2n ** 70n);
    assert.deepStrictEqual(d.get("bigneg"), -(2n ** 65n));
    assert.deepStrictEqual(d.get("float"), 1.5);
    assert.deepStrictEqual(d.get("negfloat"), -0.1);
    assert.deepStrictEqual(d.get("str"), "héllo");
    assert.deepStrictEqual(d.get("long_str"), "x".repeat(300));
    assert.deepStrictEqual(d.get("bytes"), new Uint8Array([0, 255]));
    assert.deepStrictEqual(d.get("list"), [1, "a", null, true, false]);
    assert.deepStrictEqual(d.get("tuple"), new PickleTuple([1, 2, 3]));
    assert.deepStrictEqual(d.get("tuple5"), new PickleTuple([1, 2, 3, 4, 5]));
    assert.deepStrictEqual(d.get("nested"), new Map([["a", [new Map([["b", 1]])]]]));
    assert.deepStrictEqual(d.get("empty_list"), []);
    assert.deepStrictEqual(d.get("empty_tuple"), new PickleTuple([]));
    assert.deepStrictEqual(d.get("empty_dict"), new Map());
    assert.deepStrictEqual(d.get(3), "int key");
    // The memo makes both entries the same list, as in Python.
    assert.ok(d.get("shared1") === d.get("shared2"));
    assert.deepStrictEqual(d.get("shared1"), [7, 8]);
  });

  Deno.test(`pickle protocol ${p}: numpy arrays equal numpy's own .npy, every dtype/order`, async () => {
    const d = dict(decodePickle(read(`arrays_p${p}.pkl`)));
    assert.deepStrictEqual(d.size, 25);
    for (const [name, value] of d) {
      assert.ok(isNdArray(value), `${name} is an array`);
      const expected = await readNpy(new URL(`expected_${name}.npy`, DIR).pathname);
      assert.deepStrictEqual(value.dtype, expected.dtype, String(name));
      assert.deepStrictEqual(value.shape, expected.shape, String(name));
      // Bit-for-bit: compare raw bytes where the dtypes are stored natively.
      const a = value.data, b = expected.data;
      assert.ok(!Array.isArray(a) && !Array.isArray(b));
      assert.deepStrictEqual(a.constructor, b.constructor, String(name));
      assert.deepStrictEqual(
        new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
        new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
        String(name),
      );
    }
  });

  Deno.test(`pickle protocol ${p}: numpy scalars become numbers`, () => {
    const d = dict(decodePickle(read(`scalars_p${p}.pkl`)));
    assert.deepStrictEqual(d.get("i8"), 3);
    assert.deepStrictEqual(d.get("i4"), -4);
    assert.deepStrictEqual(d.get("f8"), 2.5);
    assert.deepStrictEqual(d.get("f4"), 0.25);
  });
}

Deno.test("pickle: a subnormal float32 survives bit for bit", () => {
  const d = dict(decodePickle(read("arrays_p5.pkl")));
  const a = d.get("f4_be_C");
  assert.ok(isNdArray(a) && a.data instanceof Float32Array);
  assert.deepStrictEqual(a.data[0], Math.fround(1e-40));
});

Deno.test("pickle: refuses globals it does not know, naming them and the offset", () => {
  throwsWith(
    () => decodePickle(read("evil.pkl"), "evil.pkl"),
    PickleError,
    /evil\.pkl: global (posix|os)\.system is not allowed .* at byte \d+/,
  );
});

Deno.test("pickle: out-of-band protocol-5 buffers are a clear error", () => {
  throwsWith(() => decodePickle(read("out_of_band_p5.pkl")), PickleError, "NEXT_BUFFER");
});

Deno.test("pickle: non-pickles, truncation and unknown opcodes are errors with offsets", () => {
  throwsWith(() => decodePickle(new Uint8Array(), "x"), PickleError, "x: empty input");
  throwsWith(
    () => decodePickle(new TextEncoder().encode("hello"), "k"),
    PickleError,
    "not a binary pickle",
  );
  const full = read("plain_p4.pkl");
  throwsWith(() => decodePickle(full.subarray(0, full.length - 1)), PickleError, "truncated");
  // 0x81 NEWOBJ builds arbitrary objects.
  throwsWith(
    () => decodePickle(new Uint8Array([0x80, 4, 0x81, 0x2e])),
    PickleError,
    "unsupported pickle opcode 0x81 (NEWOBJ) (only plain data and numpy arrays are decoded) at byte 2",
  );
});

Deno.test("pickle encoder: round-trips through the decoder", () => {
  const sample = new Float32Array([1.5, -2, 3e-39, 4, 5, 6]);
  const bytes = encodePickle({
    sample: { dtype: "f4", shape: [2, 3], data: sample },
    label: 3,
    big: 2n ** 40n,
    neg: -5,
    keys: { train: ["A01T-0-0", "é".repeat(200)], test: [] },
    f: 0.5,
    none: null,
  });
  const d = dict(decodePickle(bytes));
  const s = d.get("sample");
  assert.ok(isNdArray(s));
  assert.deepStrictEqual(s.shape, [2, 3]);
  assert.deepStrictEqual(s.data, sample);
  assert.deepStrictEqual(d.get("label"), 3);
  assert.deepStrictEqual(d.get("big"), 2 ** 40);
  assert.deepStrictEqual(d.get("neg"), -5);
  assert.deepStrictEqual(
    d.get("keys"),
    new Map([["train", ["A01T-0-0", "é".repeat(200)]], ["test", []]]),
  );
  assert.deepStrictEqual(d.get("f"), 0.5);
  assert.deepStrictEqual(d.get("none"), null);
});

Deno.test("pickle encoder: arrays use numpy's _reconstruct/__setstate__ form", () => {
  const bytes = encodePickle({ dtype: "f8", shape: [1], data: new Float64Array([1]) });
  const text = String.fromCharCode(...bytes);
  assert.ok(text.includes("numpy.core.multiarray\x8c\x0c_reconstruct\x93"));
  assert.ok(text.includes("\x8c\x05numpy\x8c\x05dtype\x93\x8c\x02f8\x89\x88\x87R"));
  throwsWith(
    () => encodePickle({ dtype: "f4", shape: [2], data: new Float32Array(3) }),
    PickleError,
    "does not match",
  );
});
