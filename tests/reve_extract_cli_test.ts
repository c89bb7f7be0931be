/**
 * `deno task extract` as users run it: a subprocess on the golden folders, its NPZ compared with
 * expected.npz; hooks by name, ours or the earlier pipeline's, written under the names asked; positions
 * from electrode names; a clear error and a non-zero exit on bad input.
 */
import assert from "node:assert/strict";
import { asFloat32, f32, str } from "../compute/io/npy.ts";
import { readNpz, writeNpz } from "../compute/io/npz.ts";
import { GOLDEN_DIR, goldenError } from "./fixtures/reve_helpers.ts";
import { runCliFile } from "./fixtures/cli_run.ts";

const extract = (args: string[]) => runCliFile("extract", args);

async function assertMatchesGolden(
  outPath: string,
  goldenCase: string,
): Promise<Map<string, Float32Array>> {
  const got = await readNpz(outPath);
  const expected = await readNpz(`${GOLDEN_DIR}${goldenCase}/expected.npz`);
  const result = new Map<string, Float32Array>();
  for (const [key, arr] of expected) {
    const mine = got.get(key);
    assert.ok(mine, `${goldenCase}: output lacks ${key}`);
    assert.equal(mine.dtype, "f4");
    assert.deepEqual(mine.shape, arr.shape, key);
    const { max, tolerance } = goldenError(asFloat32(mine, key), asFloat32(arr, key));
    assert.ok(max <= tolerance, `${goldenCase} ${key}: max error ${max} > ${tolerance}`);
  }
  for (const [key, arr] of got) result.set(key, asFloat32(arr, key));
  return result;
}

Deno.test("extract on reve-tiny writes the golden tensors and the requested hooks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reve_cli_" });
  try {
    const out = `${dir}/out.npz`;
    const r = await extract([
      "--model",
      `${GOLDEN_DIR}reve-tiny`,
      "--input",
      `${GOLDEN_DIR}reve-tiny/input.npz`,
      "--out",
      out,
      "--hooks",
      "blocks.-1.attn.hook_pattern,blocks.0.mlp.hook_mlp_in",
    ]);
    assert.equal(r.code, 0, r.stderr);
    const got = await assertMatchesGolden(out, "reve-tiny");
    const arrays = await readNpz(out);
    assert.deepEqual(arrays.get("blocks.-1.attn.hook_pattern")!.shape, [2, 4, 110, 110]);
    const pattern = got.get("blocks.-1.attn.hook_pattern")!;
    for (let row = 0; row < 2 * 4 * 110; row += 97) {
      const sum = pattern.subarray(row * 110, (row + 1) * 110).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `pattern row ${row} sums to ${sum}`);
    }
    assert.deepEqual(arrays.get("blocks.0.mlp.hook_mlp_in")!.shape, [2, 110, 64]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract: the earlier pipeline's hook names give the same values as ours, under their names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reve_cli_" });
  try {
    const run = async (hooks: string, out: string) => {
      const r = await extract([
        "--model",
        `${GOLDEN_DIR}reve-tiny`,
        "--input",
        `${GOLDEN_DIR}reve-tiny/input.npz`,
        "--out",
        out,
        "--hooks",
        hooks,
      ]);
      assert.equal(r.code, 0, r.stderr);
      return await readNpz(out);
    };
    const seed = await run(
      "transformer.layers.0.hook_resid_post,transformer.layers.0.ff.hook_mlp_in",
      `${dir}/seed.npz`,
    );
    const ours = await run("blocks.0.hook_resid_post,blocks.0.mlp.hook_mlp_in", `${dir}/ours.npz`);
    for (
      const [theirs, mine] of [
        ["transformer.layers.0.hook_resid_post", "blocks.0.hook_resid_post"],
        ["transformer.layers.0.ff.hook_mlp_in", "blocks.0.mlp.hook_mlp_in"],
      ]
    ) {
      assert.ok(seed.has(theirs), `no ${theirs} in the output`);
      assert.ok(!seed.has(mine), `${mine} written though not asked`);
      assert.deepEqual(seed.get(theirs)!.shape, ours.get(mine)!.shape);
      assert.deepEqual(
        asFloat32(seed.get(theirs)!, theirs),
        asFloat32(ours.get(mine)!, mine),
        `${theirs} differs from ${mine}`,
      );
    }
    // resid_post of block 0 is the residual after it: expected.npz's hidden.1.
    const expected = await readNpz(`${GOLDEN_DIR}reve-tiny/expected.npz`);
    const { max, tolerance } = goldenError(
      asFloat32(seed.get("transformer.layers.0.hook_resid_post")!, "resid_post"),
      asFloat32(expected.get("hidden.1")!, "hidden.1"),
    );
    assert.ok(max <= tolerance, `resid_post vs hidden.1: ${max} > ${tolerance}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract on reve-base-width-1block with positions looked up from channel names", async () => {
  const dir = await Deno.makeTempDir({ prefix: "reve_cli_" });
  try {
    const input = await readNpz(`${GOLDEN_DIR}reve-base-width-1block/input.npz`);
    const eeg = input.get("eeg")!;
    const names = input.get("channels")!.data as string[];
    await writeNpz(`${dir}/in.npz`, {
      eeg: f32(asFloat32(eeg, "eeg"), eeg.shape),
      channels: str(names),
    });
    const r = await extract([
      "--model",
      `${GOLDEN_DIR}reve-base-width-1block`,
      "--input",
      `${dir}/in.npz`,
      "--out",
      `${dir}/out.npz`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await assertMatchesGolden(`${dir}/out.npz`, "reve-base-width-1block");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract reports a bad hook name and a missing input clearly, exit code 1", async () => {
  const base = ["--model", `${GOLDEN_DIR}reve-tiny`, "--out", "/nonexistent/never.npz"];
  const badHook = await extract([
    ...base,
    "--input",
    `${GOLDEN_DIR}reve-tiny/input.npz`,
    "--hooks",
    "blocks.5.hook_resid_post",
  ]);
  assert.equal(badHook.code, 1);
  assert.match(
    badHook.stderr,
    /HookNameError: "blocks\.5\.hook_resid_post": index 5 is out of range/,
  );
  const missing = await extract([...base, "--input", "/nonexistent/in.npz"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /\/nonexistent\/in\.npz/);
});
