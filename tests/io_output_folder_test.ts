/**
 * Output folders as units (compute/io/output_folder.ts) and their locks, in-process: the swap, the
 * refusals, and recovery from what a killed writer leaves beside the target.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  OUTPUT_MANIFEST,
  OutputFolderError,
  type OutputManifest,
  type OutputSpec,
  PARTIAL_MARKER,
  writeOutputFolder,
  writeOutputInPlace,
} from "../compute/io/output_folder.ts";
import { acquireFolderLock, FolderLockError } from "../compute/io/folder_lock.ts";

const SPEC: OutputSpec = { madeBy: "features", flag: "--out", inputs: {} };

/** The id of a process that has ended. */
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("output folder: built beside, manifest last, swapped in; a rerun replaces it whole", async () => {
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "out");
    await writeOutputFolder(target, { ...SPEC, inputs: { sae: "/x/sae" } }, async (dir) => {
      assert.ok(dir.startsWith(join(root, ".out.partial-")), dir);
      await Deno.writeTextFile(join(dir, "a.json"), "[1]");
      await Deno.mkdir(join(dir, "f"));
      await Deno.writeTextFile(join(dir, "f", "0.json"), "{}");
    });
    const m: OutputManifest = JSON.parse(await Deno.readTextFile(join(target, OUTPUT_MANIFEST)));
    assert.equal(m.made_by, "features");
    assert.deepEqual(m.inputs, { sae: "/x/sae" });
    assert.deepEqual(m.files.map((f) => [f.path, f.bytes]), [["a.json", 3], ["f/0.json", 2]]);
    // SHA-256 of "[1]", as sha256sum prints it.
    assert.equal(
      m.files[0].sha256,
      "080a9ed428559ef602668b4c00f114f1a11c3f6b02a435f0bdc154578e4d7f22",
    );
    await Deno.writeTextFile(join(target, "stale.json"), "old");
    await writeOutputFolder(target, SPEC, async (dir) => {
      await Deno.writeTextFile(join(dir, "b.json"), "[2]");
    });
    assert.deepEqual(await names(target), [OUTPUT_MANIFEST, "b.json"]);
    assert.deepEqual(await names(root), ["out"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("output folder: a failed build leaves the previous output and nothing beside it", async () => {
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "out");
    await writeOutputFolder(target, SPEC, (dir) => Deno.writeTextFile(join(dir, "a.json"), "1"));
    await assert.rejects(
      () =>
        writeOutputFolder(target, SPEC, async (dir) => {
          await Deno.writeTextFile(join(dir, "a.json"), "2");
          throw new Error("analysis failed");
        }),
      /analysis failed/,
    );
    assert.equal(await Deno.readTextFile(join(target, "a.json")), "1");
    assert.deepEqual(await names(root), ["out"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("output folder: foreign, file and input-holding targets are refused untouched", async () => {
  const root = await Deno.makeTempDir();
  try {
    const mine = join(root, "mine");
    await Deno.mkdir(mine);
    await Deno.writeTextFile(join(mine, "notes.txt"), "keep");
    const never = () => Promise.reject(new Error("built"));
    await assert.rejects(
      () => writeOutputFolder(mine, SPEC, never),
      (e: Error) => e instanceof OutputFolderError && /holds files not written by/.test(e.message),
    );
    await Deno.writeTextFile(join(root, "file"), "x");
    await assert.rejects(
      () => writeOutputFolder(join(root, "file"), SPEC, never),
      /exists and is not a folder/,
    );
    await assert.rejects(
      () => writeOutputFolder(root, { ...SPEC, inputs: { sae: join(root, "mine", "sae") } }, never),
      /contains the input --sae/,
    );
    // Another command's output is foreign too.
    const site = join(root, "site");
    await writeOutputFolder(site, { ...SPEC, madeBy: "site" }, () => Promise.resolve());
    await assert.rejects(
      () => writeOutputFolder(site, SPEC, never),
      /not written by `deno task features`/,
    );
    assert.deepEqual(await names(mine), ["notes.txt"]);
    assert.deepEqual(await names(root), ["file", "mine", "site"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("output folder: a killed writer's leftovers are cleared, a half-swapped output put back", async () => {
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "out");
    const dead = await deadPid();
    // Killed between the two renames: the previous output is aside, the target missing.
    await writeOutputFolder(target, SPEC, (dir) => Deno.writeTextFile(join(dir, "a.json"), "1"));
    await Deno.rename(target, join(root, `.out.old-${dead}`));
    await Deno.mkdir(join(root, `.out.partial-${dead}`));
    await Deno.writeTextFile(join(root, `.out.partial-${dead}`, "half.json"), "{");
    await Deno.writeTextFile(join(root, ".out.lock"), JSON.stringify({ pid: dead }));
    await assert.rejects(
      () => writeOutputFolder(target, SPEC, () => Promise.reject(new Error("stop"))),
      /stop/,
    );
    assert.deepEqual(await names(root), ["out"]);
    assert.equal(await Deno.readTextFile(join(target, "a.json")), "1");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("folder lock: a live holder is named, a dead one's lock is taken over", async () => {
  const root = await Deno.makeTempDir();
  try {
    const path = join(root, ".run.lock");
    const holder = new Deno.Command("sleep", { args: ["30"] }).spawn();
    try {
      await Deno.writeTextFile(path, JSON.stringify({ pid: holder.pid }));
      await assert.rejects(
        () => acquireFolderLock(path, "the run folder runs/x"),
        (e: Error) =>
          e instanceof FolderLockError &&
          e.message.includes(`runs/x is being written by process ${holder.pid} (lock ${path})`),
      );
    } finally {
      holder.kill("SIGKILL");
      await holder.status;
    }
    const lock = await acquireFolderLock(path, "the run folder runs/x");
    assert.equal(JSON.parse(await Deno.readTextFile(path)).pid, Deno.pid);
    await lock.release();
    assert.deepEqual(await names(root), []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("output in place: a rebuild replaces the old folder, a failed one puts it back", async () => {
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "run");
    const spec = { ...SPEC, madeBy: "demo" };
    await writeOutputInPlace(target, spec, async (dir) => {
      assert.equal(dir, target);
      assert.equal(JSON.parse(await Deno.readTextFile(join(dir, PARTIAL_MARKER))).pid, Deno.pid);
      await Deno.writeTextFile(join(dir, "a.json"), "1");
    });
    assert.deepEqual(await names(target), [OUTPUT_MANIFEST, "a.json"]);
    await assert.rejects(
      () =>
        writeOutputInPlace(target, spec, async (dir) => {
          await Deno.writeTextFile(join(dir, "b.json"), "2");
          throw new Error("stage 3 failed");
        }),
      /stage 3 failed/,
    );
    assert.deepEqual(await names(target), [OUTPUT_MANIFEST, "a.json"]);
    await writeOutputInPlace(target, spec, (dir) => Deno.writeTextFile(join(dir, "b.json"), "2"));
    assert.deepEqual(await names(target), [OUTPUT_MANIFEST, "b.json"]);
    assert.deepEqual(await names(root), ["run"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("output in place: a killed writer's half folder is removed, the previous one restored", async () => {
  const root = await Deno.makeTempDir();
  try {
    const target = join(root, "run");
    const spec = { ...SPEC, madeBy: "demo" };
    await writeOutputInPlace(target, spec, (dir) => Deno.writeTextFile(join(dir, "a.json"), "1"));
    // As a writer killed mid-build leaves it: the old output aside, a marked half one in place.
    const dead = await deadPid();
    await Deno.rename(target, join(root, `.run.old-${dead}`));
    await Deno.mkdir(target);
    await Deno.writeTextFile(
      join(target, PARTIAL_MARKER),
      JSON.stringify({ made_by: "demo", pid: dead }),
    );
    await Deno.writeTextFile(join(target, "half.json"), "{");
    await assert.rejects(
      () => writeOutputInPlace(target, spec, () => Promise.reject(new Error("stop"))),
      /stop/,
    );
    assert.deepEqual(await names(target), [OUTPUT_MANIFEST, "a.json"]);
    assert.deepEqual(await names(root), ["run"]);
    // A folder marked by a live writer is not taken.
    const busy = join(root, "busy");
    await Deno.mkdir(busy);
    await Deno.writeTextFile(
      join(busy, PARTIAL_MARKER),
      JSON.stringify({ made_by: "demo", pid: Deno.pid }),
    );
    await assert.rejects(
      () => writeOutputInPlace(busy, spec, () => Promise.resolve()),
      new RegExp(`busy is being written by process ${Deno.pid}`),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
