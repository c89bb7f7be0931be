/**
 * `--model brain-bzh/reve-base` as a user of `transformers` has it: found in a HuggingFace cache
 * laid out as the hub library lays it out (snapshots of symlinks into blobs/, refs/main naming the
 * revision) under $HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub, then as a local folder;
 * when absent, the error gives the licence step and the exact download command.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ModelNotFoundError, resolveModelDir } from "../compute/reve/model_path.ts";
import { readNpz } from "../compute/io/npz.ts";
import { GOLDEN_DIR } from "./fixtures/reve_helpers.ts";

const TINY = `${GOLDEN_DIR}reve-tiny`;

/** A hub cache holding reve-tiny's files as brain-bzh/reve-base at revision `rev`. */
async function fakeHubCache(hub: string, rev: string): Promise<string> {
  const repo = join(hub, "models--brain-bzh--reve-base");
  const snapshot = join(repo, "snapshots", rev);
  await Deno.mkdir(join(repo, "blobs"), { recursive: true });
  await Deno.mkdir(join(repo, "refs"), { recursive: true });
  await Deno.mkdir(snapshot, { recursive: true });
  for (const [i, f] of ["config.json", "model.safetensors"].entries()) {
    await Deno.copyFile(join(TINY, f), join(repo, "blobs", `blob${i}`));
    await Deno.symlink(join("..", "..", "blobs", `blob${i}`), join(snapshot, f));
  }
  await Deno.writeTextFile(join(repo, "refs", "main"), rev);
  return snapshot;
}

Deno.test("model path: the hub cache under HF_HUB_CACHE, HF_HOME/hub and ~/.cache", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hf_cache_" });
  try {
    const name = "brain-bzh/reve-base";
    const viaHubCache = await fakeHubCache(join(dir, "hubcache"), "1111");
    const viaHome = await fakeHubCache(join(dir, "hfhome", "hub"), "2222");
    const viaDefault = await fakeHubCache(
      join(dir, "home", ".cache", "huggingface", "hub"),
      "3333",
    );
    const env = (vars: Record<string, string>) => (k: string) => vars[k];
    assert.equal(
      await resolveModelDir(name, env({ HF_HUB_CACHE: join(dir, "hubcache") })),
      viaHubCache,
    );
    assert.equal(await resolveModelDir(name, env({ HF_HOME: join(dir, "hfhome") })), viaHome);
    assert.equal(await resolveModelDir(name, env({ HOME: join(dir, "home") })), viaDefault);
    // A folder path is itself.
    assert.equal(await resolveModelDir(TINY, env({})), TINY);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("model path: absent, the error names the licence step and the download command", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hf_cache_" });
  try {
    await assert.rejects(
      resolveModelDir("brain-bzh/reve-base", (k) => k === "HF_HOME" ? dir : undefined),
      (e) =>
        e instanceof ModelNotFoundError &&
        e.message.includes(
          "huggingface-cli download brain-bzh/reve-base config.json model.safetensors",
        ) &&
        e.message.includes("https://huggingface.co/brain-bzh/reve-base") &&
        e.message.includes("licence") &&
        e.message.includes(join(dir, "hub", "models--brain-bzh--reve-base")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("extract --model brain-bzh/reve-base reads the cached snapshot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "hf_cache_" });
  try {
    await fakeHubCache(join(dir, "hub"), "abcd");
    const out = join(dir, "out.npz");
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../compute/cli/extract.ts", import.meta.url).pathname,
        "--model",
        "brain-bzh/reve-base",
        "--input",
        `${TINY}/input.npz`,
        "--out",
        out,
      ],
      env: { HF_HUB_CACHE: join(dir, "hub") },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
    const got = await readNpz(out);
    const want = await readNpz(`${TINY}/expected.npz`);
    assert.deepEqual(got.get("final")!.shape, want.get("final")!.shape);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
