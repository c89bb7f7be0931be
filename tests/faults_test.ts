/**
 * Fault injection on one tiny demo run (built once): every command is run as a user would (a
 * subprocess of the real CLI) against bad targets, bad files and kill -9 at different moments,
 * and must end with one readable error naming the file or flag, exit code 1 (never a signal or a
 * stack trace), and every earlier output byte for byte as it was. The killed `features` and `site`
 * commands, rerun, must leave exactly the files of an uninterrupted run.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import { open } from "lmdb";
import { encodePickle } from "../compute/io/pickle_encode.ts";
import { readSafetensors, writeSafetensors } from "../compute/io/safetensors.ts";
import { OUTPUT_MANIFEST, type OutputManifest } from "../compute/io/output_folder.ts";
import { LmdbSource, LmdbSourceError } from "../compute/data/lmdb_source.ts";
import { openActivationFiles } from "../compute/sae/activation_store.ts";
import { serveStatic } from "../site/tools/static_server.ts";

const DENO = Deno.execPath();
const dec = new TextDecoder();

interface CliResult {
  code: number;
  signal: Deno.Signal | null;
  out: string;
  err: string;
}

async function cli(script: string, args: string[]): Promise<CliResult> {
  const r = await new Deno.Command(DENO, {
    args: ["run", "-A", `compute/cli/${script}.ts`, ...args],
    stdout: "piped",
    stderr: "piped",
    env: { EEG_SAE_DEBUG: "" },
  }).output();
  return { code: r.code, signal: r.signal, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

/** Exit 1 by a clean error (no signal, no stack frame) whose text matches `pattern`. */
function assertRefused(r: CliResult, pattern: RegExp): void {
  const text = `${r.out}\n${r.err}`;
  assert.equal(r.signal, null, `ended by signal ${r.signal}:\n${text}`);
  assert.equal(r.code, 1, `exit code ${r.code}, expected 1:\n${text.slice(-2000)}`);
  assert.match(r.err, pattern);
  assert.doesNotMatch(text, /^\s+at .*:\d+:\d+\)?$/m, `stack trace printed:\n${text}`);
}

/** Every file under `dir` (relative path → SHA-256), hidden bookkeeping included. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(join(d, e.name), r);
      // LMDB's reader table changes whenever the database is opened, even read-only.
      else if (e.name !== "lock.mdb") {
        const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(join(d, e.name)));
        files.set(r, Array.from(new Uint8Array(digest), (b) => b.toString(16)).join(""));
      }
    }
  };
  await walk(dir, "");
  return files;
}

/**
 * Two outputs hold the same files with the same bytes; their manifests may differ only in when
 * they were written.
 */
async function assertSameOutput(actual: string, expected: string): Promise<void> {
  const [a, e] = [await snapshot(actual), await snapshot(expected)];
  assert.deepEqual([...a.keys()].sort(), [...e.keys()].sort(), `files of ${actual}`);
  for (const [path, hash] of e) {
    if (path === OUTPUT_MANIFEST) continue;
    assert.equal(a.get(path), hash, `${actual}/${path} differs from ${expected}/${path}`);
  }
  const manifest = async (d: string) => {
    const m: OutputManifest = JSON.parse(await Deno.readTextFile(join(d, OUTPUT_MANIFEST)));
    return { made_by: m.made_by, inputs: m.inputs, files: m.files };
  };
  assert.deepEqual(await manifest(actual), await manifest(expected));
}

async function exists(path: string): Promise<boolean> {
  return await Deno.lstat(path).then(() => true, () => false);
}

/** Child process ids of `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  const kids: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) {
        kids.push(Number(e.name));
      }
    } catch {
      // The process ended while listing.
    }
  }
  return kids;
}

function running(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).includes(") Z ");
  } catch {
    return false;
  }
}

/** Ids of the processes whose command line contains `text` (Linux /proc). */
function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/cmdline`).includes(text)) {
        found.push(Number(e.name));
      }
    } catch {
      // The process ended while listing.
    }
  }
  return found;
}

async function waitGone(pids: number[], ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (pids.some(running)) {
    if (Date.now() > until) {
      throw new Error(`processes ${pids.filter(running)} outlived their parent`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(join(from, e.name), join(to, e.name));
    else await Deno.copyFile(join(from, e.name), join(to, e.name));
  }
}

/**
 * Runs a CLI and kills it (SIGKILL) the first time `when` holds; true when it was killed (false
 * when it finished first). Its children must end on their own soon after.
 */
async function killWhen(
  script: string,
  args: string[],
  when: () => Promise<boolean>,
): Promise<boolean> {
  const child = new Deno.Command(DENO, {
    args: ["run", "-A", `compute/cli/${script}.ts`, ...args],
    stdout: "null",
    stderr: "null",
  }).spawn();
  let finished = false;
  const status = child.status.then((s) => {
    finished = true;
    return s;
  });
  while (!finished) {
    if (await when()) {
      child.kill("SIGKILL");
      await status;
      // Every process working for it (the site's Astro build names the folder it fills) ends.
      await waitGone(processesMentioning(`.partial-${child.pid}`), 30_000);
      return true;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  await status;
  return false;
}

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(join(d, e.name));
      else n++;
    }
  };
  await walk(dir).catch(() => {});
  return n;
}

/** The temporary build folder beside `target`, if one exists now. */
async function partialOf(target: string): Promise<string | null> {
  const parent = join(target, "..");
  for await (const e of Deno.readDir(parent)) {
    if (e.name.startsWith(`.${basename(target)}.partial-`)) return join(parent, e.name);
  }
  return null;
}

/** Entries of a folder, for checking nothing was left beside an output. */
async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test({
  name: "faults: bad targets, bad files and kill -9 leave clear errors and intact outputs",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async (t) => {
    const root = await Deno.makeTempDir({ prefix: "eeg_sae_faults_" });
    const run = join(root, "run");
    const db = join(run, "data", "synthetic.lmdb");
    const model = join(run, "model");
    try {
      const demo = await cli("demo", ["--size", "tiny", "--out", run]);
      assert.equal(demo.code, 0, `demo failed:\n${demo.out.slice(-2000)}\n${demo.err}`);
      const runFiles = await snapshot(run);
      const keepRun = async () => assert.deepEqual(await snapshot(run), runFiles, "run changed");

      await t.step("1. site --out refuses the run folder and a folder of the user's", async () => {
        assertRefused(
          await cli("site", ["--run", run, "--out", run]),
          new RegExp(`--out ${run} contains the input --run`),
        );
        const mine = join(root, "mine");
        await Deno.mkdir(mine);
        await Deno.writeTextFile(join(mine, "notes.txt"), "my notes");
        assertRefused(
          await cli("site", ["--run", run, "--out", mine]),
          /--out .*mine holds files not written by `deno task site`/,
        );
        // The same rule for every command that writes a folder.
        assertRefused(
          await cli("demo", ["--size", "tiny", "--out", mine]),
          /--out .*mine holds files not written by `deno task demo`/,
        );
        assertRefused(
          await cli("extract", ["--model", model, "--db_path", db, "--out", run]),
          new RegExp(`--out ${run} contains the input --model ${model}`),
        );
        await Deno.mkdir(join(mine, "probe"));
        await Deno.writeTextFile(join(mine, "probe", "mine.json"), "{}");
        assertRefused(
          await cli("probe", [
            "--sae",
            join(run, "sae"),
            "--model",
            model,
            "--db_path",
            db,
            "--all_subjects",
            "--out",
            mine,
          ]),
          /--out .*mine\/probe holds files not written by `deno task probe`/,
        );
        assert.equal(await Deno.readTextFile(join(mine, "notes.txt")), "my notes");
        assert.equal(await Deno.readTextFile(join(mine, "probe", "mine.json")), "{}");
        assert.deepEqual(await entries(mine), ["notes.txt", "probe"]);
        await keepRun();
      });

      await t.step("2. extract refuses stray shards; train reads only indexed ones", async () => {
        const acts = join(root, "acts");
        await Deno.mkdir(acts);
        await Deno.writeTextFile(join(acts, "shard_00007.npy"), "old shard");
        const args = ["--model", model, "--db_path", db, "--out", acts];
        assertRefused(await cli("extract", args), /--out .*acts holds files not written by/);
        assert.equal(await Deno.readTextFile(join(acts, "shard_00007.npy")), "old shard");
        // Into a folder extract made itself: replaced whole, strays included.
        const mine = join(root, "acts2");
        assert.equal((await cli("extract", [...args.slice(0, 4), "--out", mine])).code, 0);
        await Deno.copyFile(join(mine, "shard_00000.npy"), join(mine, "shard_00001.npy"));
        const source = await openActivationFiles(mine, 256, 2, 1);
        assert.match(source.description, /shard_00000\.npy$/, "a stray shard was read");
        assert.equal((await cli("extract", [...args.slice(0, 4), "--out", mine])).code, 0);
        assert.deepEqual(await entries(mine), [OUTPUT_MANIFEST, "index.json", "shard_00000.npy"]);
        // Resuming against activations of another block says so.
        assertRefused(
          await cli("train", [
            "--resume",
            run,
            "--db_path",
            db,
            "--model_name",
            model,
            "--block_layer",
            "0",
          ]),
          /activations\/index\.json does not match this command: hook blocks\.1\.hook_resid_post, asked blocks\.0/,
        );
        await keepRun();
      });

      await t.step("2. features asked for another hook than the SAE's is refused", async () => {
        assertRefused(
          await cli("features", [
            "--sae",
            join(run, "sae"),
            "--model",
            model,
            "--db_path",
            db,
            "--hook",
            "blocks.0.hook_resid_post",
            "--out",
            join(root, "features_never"),
          ]),
          /--hook blocks\.0\.hook_resid_post differs from the hook the SAE was trained on \(blocks\.1\.hook_resid_post, from .*sae\/cfg\.json\)/,
        );
        assert.equal(await exists(join(root, "features_never")), false);
        assert.deepEqual((await entries(root)).filter((n) => n.includes("features_never")), []);
      });

      await t.step("3. train --out EXISTING_RUN changes nothing", async () => {
        assertRefused(
          await cli("train", [
            "--activations",
            join(run, "activations"),
            "--out",
            run,
            "--expansion_factor",
            "2",
          ]),
          /--out .*run already exists and is not empty: continue that run with --resume/,
        );
        assertRefused(
          await cli("train", [
            "--db_path",
            db,
            "--model_name",
            model,
            "--block_layer",
            "0",
            "--out",
            run,
          ]),
          /already exists/,
        );
        await keepRun();
      });

      await t.step(
        "4. --skip_bad keeps the majority length, even when the odd trial is first",
        async () => {
          const path = join(root, "odd.lmdb");
          await Deno.mkdir(path);
          const env = open<Uint8Array, Uint8Array>({
            path,
            noSubdir: false,
            encoding: "binary",
            keyEncoding: "binary",
          });
          const enc = new TextEncoder();
          for (let i = 0; i < 6; i++) {
            const samples = i === 0 ? 700 : 800;
            const data = new Float32Array(22 * samples).map((_, j) => Math.sin(j + i));
            await env.put(
              enc.encode(`A01T-0-${i}`),
              encodePickle({ sample: { dtype: "f4", shape: [22, samples], data }, label: i % 4 }),
            );
          }
          await env.close();
          await assert.rejects(
            () => LmdbSource.open(path),
            (e: Error) =>
              e instanceof LmdbSourceError &&
              /key "A01T-0-0": sample has 700 time points, 5 of the 6 trials have 800/.test(
                e.message,
              ),
          );
          const source = await LmdbSource.open(path, { skipBad: true });
          try {
            assert.equal(source.samples, 800);
            assert.deepEqual(
              source.trials.map((x) => x.key),
              [1, 2, 3, 4, 5].map((i) => `A01T-0-${i}`),
            );
            assert.deepEqual(source.skipped.map((s) => s.key), ["A01T-0-0"]);
          } finally {
            source.close();
          }
        },
      );

      await t.step(
        "5. truncated or corrupted LMDB and bad dataset.json are errors naming the file",
        async () => {
          const copy = async (name: string) => {
            const dir = join(root, name);
            await Deno.mkdir(dir);
            for await (const e of Deno.readDir(db)) {
              await Deno.copyFile(join(db, e.name), join(dir, e.name));
            }
            return dir;
          };
          const truncated = await copy("truncated.lmdb");
          const mdb = join(truncated, "data.mdb");
          await Deno.truncate(mdb, Math.floor((await Deno.stat(mdb)).size / 2));
          for (const script of ["data", "extract"]) {
            const args = script === "data"
              ? ["inspect", "--db_path", truncated]
              : ["--model", model, "--db_path", truncated, "--out", join(root, "never")];
            assertRefused(
              await cli(script, args),
              new RegExp(`${mdb}: truncated: its header records`),
            );
          }
          assert.equal(await exists(join(root, "never")), false);

          const corrupted = await copy("corrupted.lmdb");
          const file = await Deno.open(join(corrupted, "data.mdb"), { read: true, write: true });
          const pages = (await file.stat()).size / 4096;
          for (let p = 2; p < pages; p += 5) {
            await file.seek(p * 4096, Deno.SeekMode.Start);
            await file.write(new Uint8Array(64).fill(0xa5));
          }
          file.close();
          assertRefused(
            await cli("data", ["inspect", "--db_path", corrupted]),
            new RegExp(`${corrupted}: cannot read the LMDB`),
          );

          const sidecar = await copy("sidecar.lmdb");
          const json = join(sidecar, "dataset.json");
          const good = JSON.parse(await Deno.readTextFile(json));
          await Deno.writeTextFile(json, "{ not json");
          assertRefused(
            await cli("data", ["inspect", "--db_path", sidecar]),
            new RegExp(`${json}: not valid JSON`),
          );
          await Deno.writeTextFile(json, JSON.stringify({ ...good, unit_scale: "abc" }));
          assertRefused(
            await cli("data", ["inspect", "--db_path", sidecar]),
            new RegExp(`${json}: field "unit_scale" must be a finite non-zero number, got "abc"`),
          );
        },
      );

      await t.step(
        "6. site refuses a features folder without its manifest, before Astro",
        async () => {
          const other = join(root, "unfinished");
          await Deno.mkdir(join(other, "features"), { recursive: true });
          for (const f of ["index.json", "feature_data.npz"]) {
            await Deno.copyFile(join(run, "features", f), join(other, "features", f));
          }
          const r = await cli("site", ["--run", other, "--out", join(root, "site_never")]);
          assertRefused(r, /unfinished\/features is not a complete output of `deno task features`/);
          assert.doesNotMatch(r.err, /astro|Cannot read properties/i);
          assert.equal(await exists(join(root, "site_never")), false);
          // A bad file only Astro's pages read: one line naming it, no Astro stack, no output.
          const broken = join(root, "broken");
          await copyTree(join(run, "features"), join(broken, "features"));
          await copyTree(join(run, "probe"), join(broken, "probe"));
          await Deno.writeTextFile(join(broken, "probe", "zz.json"), '{"x": 1}');
          assertRefused(
            await cli("site", ["--run", broken, "--out", join(root, "site_never")]),
            /astro build of .*broken failed:\n.*broken\/probe\/zz\.json: field "name" must be a string/,
          );
          assert.deepEqual((await entries(root)).filter((n) => n.includes("site_never")), []);
        },
      );

      await t.step("7. a NaN or Inf in a model weight is refused, naming the tensor", async () => {
        const bad = join(root, "bad_model");
        await Deno.mkdir(bad);
        await Deno.copyFile(join(model, "config.json"), join(bad, "config.json"));
        const st = await readSafetensors(join(model, "model.safetensors"));
        const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
        for (const [name, x] of st.tensors) {
          tensors[name] = { shape: x.shape, data: new Float32Array(x.data as Float32Array) };
        }
        const victim = [...st.tensors.keys()].sort().at(-1)!;
        tensors[victim].data[1] = Number.POSITIVE_INFINITY;
        await writeSafetensors(join(bad, "model.safetensors"), tensors, st.metadata);
        const out = join(root, "nan_acts");
        assertRefused(
          await cli("extract", ["--model", bad, "--db_path", db, "--out", out]),
          new RegExp(
            `tensor "${
              victim.replaceAll(".", "\\.")
            }" \\[[\\d,]+\\] holds Infinity at flat index 1`,
          ),
        );
        assert.equal(await exists(out), false);
      });

      await t.step(
        "8. resume before the first checkpoint, and a live lock, say what happened",
        async () => {
          const early = join(root, "early");
          await Deno.mkdir(join(early, "sae"), { recursive: true });
          await Deno.copyFile(join(run, "sae", "cfg.json"), join(early, "sae", "cfg.json"));
          assertRefused(
            await cli("train", ["--resume", early, "--activations", join(run, "activations")]),
            /stopped before its first checkpoint \(one every 50 steps\), so there is nothing to resume/,
          );
          const lock = join(run, ".features.lock");
          await Deno.writeTextFile(lock, JSON.stringify({ pid: Deno.pid }));
          assertRefused(
            await cli("features", [
              "--sae",
              join(run, "sae"),
              "--model",
              model,
              "--db_path",
              db,
              "--out",
              join(run, "features"),
            ]),
            new RegExp(`being written by process ${Deno.pid} \\(lock ${lock}\\)`),
          );
          await Deno.remove(lock);
          await keepRun();
        },
      );

      await t.step("8. kill -9 of `deno task serve` leaves no orphan", async () => {
        const task = new Deno.Command(DENO, {
          args: ["task", "serve", "--dir", join(run, "site"), "--port", "0"],
          stdout: "piped",
          stderr: "null",
        }).spawn();
        const reader = task.stdout.getReader();
        let seen = "";
        while (!seen.includes("serving")) {
          seen += dec.decode((await reader.read()).value);
        }
        const kids = childrenOf(task.pid);
        assert.equal(kids.length, 1, `deno task should have one child, has ${kids}`);
        task.kill("SIGKILL");
        await task.status;
        reader.releaseLock();
        await task.stdout.cancel().catch(() => {});
        await waitGone(kids, 10_000);
      });

      await t.step(
        "9. the server answers malformed or escaping paths with 400 or 404",
        async () => {
          const site = join(root, "served");
          await Deno.mkdir(join(site, "features", "3"), { recursive: true });
          await Deno.writeTextFile(join(site, "index.html"), "<p>home</p>");
          await Deno.writeTextFile(join(site, "features", "3", "index.html"), "<p>3</p>");
          await Deno.writeTextFile(join(root, "secret.txt"), "TOP SECRET CONTENT");
          await Deno.symlink(join(root, "secret.txt"), join(site, "leak.txt"));
          await Deno.symlink(root, join(site, "up"));
          const server = await serveStatic(site, 0);
          const base = server.url.slice(0, -1);
          try {
            const get = async (path: string, method = "GET") => {
              const r = await fetch(base + path, { method, redirect: "manual" });
              const body = await r.text();
              assert.equal(r.headers.get("x-content-type-options"), "nosniff", path);
              assert.doesNotMatch(body, /TOP SECRET/, path);
              return { status: r.status, location: r.headers.get("location"), body };
            };
            assert.equal((await get("/")).status, 200);
            const redirect = await get("/features/3");
            assert.deepEqual([redirect.status, redirect.location], [301, "/features/3/"]);
            assert.equal((await get("/leak.txt")).status, 404);
            assert.equal((await get("/up/secret.txt")).status, 404);
            assert.equal((await get("//evil.com/x%2F..%2F..%2Ffeatures")).status, 400);
            assert.equal((await get("//evil.com%2F..%2Ffeatures")).status, 400);
            assert.equal((await get("/features/%E0%A4%A")).status, 400);
            assert.equal((await get("/features%2F3")).status, 400);
            assert.equal((await get("/", "POST")).status, 405);
            assert.equal((await get("/nothing")).status, 404);
          } finally {
            await server.shutdown();
          }
        },
      );

      const features = join(run, "features");
      const reference = join(root, "features_reference");
      await t.step("kill -9 during features, five times, then a rerun", async () => {
        // The demo's uninterrupted output is the reference and the earlier output to keep.
        await copyTree(features, reference);
        const args = [
          "--sae",
          join(run, "sae"),
          "--model",
          model,
          "--db_path",
          db,
          "--split",
          "all",
          "--out",
          features,
          "--batch_size",
          "16",
          "--top_k",
          "10",
          "--site_top_trials",
          "5",
          "--trial_chunk_size",
          "64",
          "--neighbours",
          "8",
          "--chunk_size",
          "256",
        ];
        let t0 = Date.now();
        const moments: (() => Promise<boolean>)[] = [
          () => Promise.resolve(Date.now() - t0 > 300),
          () => exists(join(run, ".features.lock")),
          async () => (await partialOf(features)) !== null,
          async () => await countFiles((await partialOf(features)) ?? "/nonexistent") >= 100,
          async () =>
            await exists(join((await partialOf(features)) ?? "/nonexistent", "trial_acts")),
        ];
        let kills = 0;
        let lastKilled = false;
        for (const moment of moments) {
          t0 = Date.now();
          lastKilled = await killWhen("features", args, moment);
          if (lastKilled) kills++;
          // The previous output is whole after every kill (or back in place on the next run,
          // when the kill fell between the two renames of the swap).
          if (await exists(features)) await assertSameOutput(features, reference);
        }
        console.log(`features: ${kills} of ${moments.length} runs killed`);
        assert.ok(kills >= 3, `only ${kills} features runs were killed before finishing`);
        // The killed writer's lock is still there, naming a process that is gone: taken over.
        if (lastKilled) assert.ok(await exists(join(run, ".features.lock")), "no stale lock");
        const rerun = await cli("features", args);
        assert.equal(rerun.code, 0, rerun.err);
        await assertSameOutput(features, reference);
        assert.deepEqual(
          (await entries(run)).filter((n) => n.startsWith(".")),
          [OUTPUT_MANIFEST],
          "something was left beside the outputs",
        );
      });

      await t.step("kill -9 during site, five times, then a rerun", async () => {
        const site = join(run, "site");
        const reference = await snapshot(site);
        const total = reference.size;
        const args = ["--run", run, "--out", site];
        let t0 = Date.now();
        const partialFiles = async () =>
          await countFiles((await partialOf(site)) ?? "/nonexistent");
        const moments: (() => Promise<boolean>)[] = [
          () => Promise.resolve(Date.now() - t0 > 500),
          async () => (await partialOf(site)) !== null,
          async () => await partialFiles() >= 1,
          async () => await partialFiles() >= total / 3,
          async () => await partialFiles() >= total * 0.9,
        ];
        let kills = 0;
        for (const moment of moments) {
          t0 = Date.now();
          if (await killWhen("site", args, moment)) kills++;
          if (await exists(site)) assert.deepEqual(await snapshot(site), reference);
        }
        console.log(`site: ${kills} of ${moments.length} runs killed`);
        assert.ok(kills >= 3, `only ${kills} site runs were killed before finishing`);
        const rerun = await cli("site", args);
        assert.equal(rerun.code, 0, rerun.err);
        const after = await snapshot(site);
        assert.deepEqual([...after.keys()].sort(), [...reference.keys()].sort());
        for (const [path, hash] of reference) {
          if (path !== OUTPUT_MANIFEST) assert.equal(after.get(path), hash, `site/${path}`);
        }
        assert.deepEqual(
          (await entries(run)).filter((n) => n.startsWith(".")),
          [OUTPUT_MANIFEST],
          "something was left beside the outputs",
        );
      });
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  },
});
