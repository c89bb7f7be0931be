/** EegSaeError: subclasses keep their own name, and a wrapped error travels as `cause`. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { EegSaeError } from "../compute/util/errors.ts";
import { readReveConfig, ReveConfigError } from "../compute/reve/config.ts";
import { MatError, readMat } from "../compute/io/mat.ts";
import { readSafetensors, SafetensorsError } from "../compute/io/safetensors.ts";
import { parseTrainLog, ReportSchemaError } from "../schema/run_folder.ts";

Deno.test("a subclass is an EegSaeError named after itself, and carries the cause it is given", () => {
  class ExampleError extends EegSaeError {}
  const inner = new RangeError("inner");
  const e = new ExampleError("outer", { cause: inner });
  assert.ok(e instanceof EegSaeError && e instanceof Error);
  assert.equal(e.name, "ExampleError");
  assert.equal(e.message, "outer");
  assert.equal(e.cause, inner);
  assert.equal(new EegSaeError("plain").name, "EegSaeError");
  assert.equal(new EegSaeError("plain").cause, undefined);
});

Deno.test("a failed read names the file and keeps the system error as the cause", async () => {
  const dir = await Deno.makeTempDir({ prefix: "eeg_sae_errors_" });
  try {
    const missing = join(dir, "missing");
    for (
      const [read, type] of [
        [() => readReveConfig(join(missing, "config.json")), ReveConfigError],
        [() => readMat(join(missing, "A01E.mat")), MatError],
      ] as const
    ) {
      await assert.rejects(read, (e: unknown) => {
        assert.ok(e instanceof type && e instanceof EegSaeError, String(e));
        assert.match(e.message, /missing/);
        assert.ok(e.cause instanceof Deno.errors.NotFound, `cause: ${e.cause}`);
        return true;
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a parse error travels as the cause of the file's error", async () => {
  assert.throws(() => parseTrainLog("{not json\n", "log.jsonl"), (e: unknown) => {
    assert.ok(e instanceof ReportSchemaError && e instanceof EegSaeError);
    assert.match(e.message, /^log\.jsonl:1: field "\(row\)" must be valid JSON/);
    assert.ok(e.cause instanceof SyntaxError);
    return true;
  });
  const dir = await Deno.makeTempDir({ prefix: "eeg_sae_errors_" });
  try {
    const path = join(dir, "bad.safetensors");
    const header = new TextEncoder().encode("{oops");
    const bytes = new Uint8Array(8 + header.length);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(header, 8);
    await Deno.writeFile(path, bytes);
    await assert.rejects(() => readSafetensors(path), (e: unknown) => {
      assert.ok(e instanceof SafetensorsError, String(e));
      assert.match(e.message, /header is not valid JSON/);
      assert.ok(e.cause instanceof SyntaxError);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
