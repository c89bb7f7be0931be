/**
 * The safetensors reader against files assembled byte by byte by make_io_fixtures.py (every dtype,
 * aligned and misaligned offsets, __metadata__), the golden REVE weights, malformed files built
 * here by hand, and writer→reader round trips.
 */
import assert from "node:assert/strict";
import {
  encodeSafetensors,
  floatTensor,
  readSafetensors,
  SafetensorsError,
  writeSafetensors,
} from "../compute/io/safetensors.ts";
import { rejectsWith, throwsWith } from "./fixtures/data_helpers.ts";
import { assertValues, expected, ioFixture } from "./fixtures/io_helpers.ts";

const GOLDEN_MODEL = new URL("./golden/reve-tiny/model.safetensors", import.meta.url).pathname;

for (const [name, want] of Object.entries(expected.safetensors)) {
  Deno.test(`readSafetensors ${name}.safetensors matches the values Python wrote`, async () => {
    const file = await readSafetensors(ioFixture(`${name}.safetensors`));
    assert.deepEqual(file.metadata, want.metadata);
    assert.deepEqual([...file.tensors.keys()].sort(), Object.keys(want.tensors).sort());
    for (const [key, t] of Object.entries(want.tensors)) {
      const got = file.tensors.get(key)!;
      assert.equal(got.dtype, t.dtype, key);
      assert.deepEqual(got.shape, t.shape, key);
      assertValues(got.data, t.values, `${name}:${key}`);
    }
  });
}

Deno.test("float dtypes become Float32Array, integers keep their width", async () => {
  const file = await readSafetensors(ioFixture("mixed.safetensors"));
  for (const k of ["weight", "half", "bf16", "double", "misaligned"]) {
    assert.ok(file.tensors.get(k)!.data instanceof Float32Array, k);
  }
  assert.ok(file.tensors.get("counts")!.data instanceof Int32Array);
  assert.ok(file.tensors.get("steps")!.data instanceof BigInt64Array);
});

Deno.test("aligned F32/I32 tensors are views of one buffer; misaligned ones are copies", async () => {
  const file = await readSafetensors(ioFixture("mixed.safetensors"));
  const buffer = (k: string) => file.tensors.get(k)!.data.buffer;
  assert.equal(buffer("weight"), buffer("scalar"));
  assert.equal(buffer("weight"), buffer("counts"));
  assert.notEqual(buffer("misaligned"), buffer("weight"));
});

Deno.test("golden reve-tiny weights: 20 tensors, shapes and bytes as in the file", async () => {
  const file = await readSafetensors(GOLDEN_MODEL);
  assert.equal(file.tensors.size, 20);
  assert.deepEqual(file.metadata, {});
  const qkv = floatTensor(file, "transformer.layers.0.0.to_qkv.weight", [192, 64]);
  assert.deepEqual(floatTensor(file, "cls_query_token").shape, [1, 1, 64]);
  // Independent check: decode the same element straight from the file bytes.
  const raw = await Deno.readFile(GOLDEN_MODEL);
  const view = new DataView(raw.buffer);
  const headerLength = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + headerLength)));
  const [begin] = header["transformer.layers.0.0.to_qkv.weight"].data_offsets;
  const at = 8 + headerLength + begin;
  assert.equal(qkv.data[0], view.getFloat32(at, true));
  assert.equal(qkv.data[64 * 191 + 63], view.getFloat32(at + 4 * (64 * 191 + 63), true));
});

Deno.test("floatTensor names the file and tensor when missing, integer or misshapen", async () => {
  const file = await readSafetensors(ioFixture("mixed.safetensors"));
  const path = ioFixture("mixed.safetensors");
  throwsWith(() => floatTensor(file, "nope"), SafetensorsError, `${path}: missing tensor 'nope'`);
  throwsWith(
    () => floatTensor(file, "counts"),
    SafetensorsError,
    "'counts' is I32, expected a float",
  );
  throwsWith(
    () => floatTensor(file, "weight", [3, 2]),
    SafetensorsError,
    "'weight' has shape [2,3], expected [3,2]",
  );
});

Deno.test("writeSafetensors round trip: sorted keys, 8-byte aligned header, metadata", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-io-" });
  try {
    const path = `${dir}/w.safetensors`;
    const tensors = {
      "w_dec": { shape: [2, 3], data: new Float32Array([1, -2, 3.5, 0, -0, 1e-30]) },
      "b_enc": { shape: [3], data: new Float32Array([0.25, 0.5, 0.75]) },
      "step": { shape: [], data: new BigInt64Array([123456789012345n]) },
      "counts": { shape: [2], data: new Int32Array([-1, 7]) },
    };
    await writeSafetensors(path, tensors, { version: "1" });
    const raw = await Deno.readFile(path);
    const headerLength = Number(new DataView(raw.buffer).getBigUint64(0, true));
    assert.equal(headerLength % 8, 0);
    const header = JSON.parse(new TextDecoder().decode(raw.subarray(8, 8 + headerLength)));
    assert.deepEqual(Object.keys(header), ["__metadata__", "b_enc", "counts", "step", "w_dec"]);
    const back = await readSafetensors(path);
    assert.deepEqual(back.metadata, { version: "1" });
    for (const [k, t] of Object.entries(tensors)) {
      assert.deepEqual(back.tensors.get(k)!.shape, t.shape, k);
      assert.deepEqual(back.tensors.get(k)!.data, t.data, k);
    }
    assert.equal(back.tensors.get("step")!.dtype, "I64");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the writer refuses mismatched shapes", () => {
  throwsWith(
    () => encodeSafetensors({ x: { shape: [2, 2], data: new Float32Array(3) } }, undefined, "o.st"),
    SafetensorsError,
    "o.st: tensor 'x': shape [2,2] does not match 3 elements",
  );
});

/** A safetensors file from a header object and data bytes, built independently of the writer. */
function handMade(header: unknown, data: Uint8Array, headerText?: string): Uint8Array {
  const json = new TextEncoder().encode(headerText ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

Deno.test("malformed files fail naming the file, the tensor and what was wrong", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg-sae-io-" });
  const write = async (name: string, bytes: Uint8Array) => {
    await Deno.writeFile(`${dir}/${name}`, bytes);
    return `${dir}/${name}`;
  };
  const f32x2 = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  try {
    const good = await Deno.readFile(ioFixture("mixed.safetensors"));
    const cut = await write("cut.safetensors", good.slice(0, good.length - 5));
    const e = await rejectsWith(() => readSafetensors(cut), SafetensorsError, "truncated file");
    assert.ok(e.message.startsWith(cut) && e.message.includes("'steps'"), e.message);
    await rejectsWith(
      async () => readSafetensors(await write("short.safetensors", good.slice(0, 5))),
      SafetensorsError,
      "truncated file: the 8-byte header length needs 8 bytes, found 5",
    );
    await rejectsWith(
      async () => readSafetensors(await write("headless.safetensors", good.slice(0, 100))),
      SafetensorsError,
      "header length 544 exceeds the file (100 bytes)",
    );
    await rejectsWith(
      async () =>
        readSafetensors(await write("json.safetensors", handMade(null, new Uint8Array(8), "{bad"))),
      SafetensorsError,
      "header is not valid JSON",
    );
    await rejectsWith(
      async () =>
        readSafetensors(
          await write(
            "dtype.safetensors",
            handMade({ x: { ...f32x2, dtype: "U8" } }, new Uint8Array(8)),
          ),
        ),
      SafetensorsError,
      `tensor 'x': unsupported dtype "U8"`,
    );
    await rejectsWith(
      async () =>
        readSafetensors(
          await write(
            "size.safetensors",
            handMade({ x: { ...f32x2, shape: [3] } }, new Uint8Array(8)),
          ),
        ),
      SafetensorsError,
      "tensor 'x': data_offsets [0, 8] span 8 bytes but F32 [3] needs 12",
    );
    const gap = { a: f32x2, b: { ...f32x2, data_offsets: [12, 20] } };
    await rejectsWith(
      async () =>
        readSafetensors(await write("gap.safetensors", handMade(gap, new Uint8Array(20)))),
      SafetensorsError,
      "tensor 'b' starts at data offset 12, expected 8 (offsets must be contiguous)",
    );
    await rejectsWith(
      async () =>
        readSafetensors(
          await write("tail.safetensors", handMade({ a: f32x2 }, new Uint8Array(12))),
        ),
      SafetensorsError,
      "4 bytes not covered by any tensor",
    );
    await rejectsWith(
      async () =>
        readSafetensors(
          await write(
            "meta.safetensors",
            handMade({ __metadata__: { n: 1 }, a: f32x2 }, new Uint8Array(8)),
          ),
        ),
      SafetensorsError,
      "__metadata__.n must be a string",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
