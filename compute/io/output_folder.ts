/**
 * Output folders written as one unit. A command builds its output in a temporary folder beside the
 * target, writes a manifest last (what it wrote, from which inputs, sizes and hashes of the small
 * files), and swaps it in: the old folder is moved aside, the new one renamed into place, then the
 * old one removed. So an interrupted command leaves the previous output whole, and nothing the user
 * made is deleted: a target that is not empty and carries no manifest of this command is refused,
 * as is a target holding one of the command's own inputs.
 */
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { acquireFolderLock, type FolderLock, processAlive } from "./folder_lock.ts";
import { writeJsonAtomic } from "./atomic.ts";
import { EegSaeError } from "../util/errors.ts";

/** JSON, but without the extension: readers that take every *.json of a folder skip it. */
export const OUTPUT_MANIFEST = ".eeg-sae-manifest";
export const OUTPUT_FORMAT = "eeg-sae output v1";
/** Marks a folder an in-place writer is filling (see writeOutputInPlace). */
export const PARTIAL_MARKER = ".eeg-sae-partial";
/** Files up to this size get a SHA-256 in the manifest. */
const HASHED_BYTES = 1 << 20;

export interface ManifestFile {
  path: string;
  bytes: number;
  sha256?: string;
}

export interface OutputManifest {
  format: typeof OUTPUT_FORMAT;
  /** The command that wrote the folder, e.g. `features`. */
  made_by: string;
  /** Named inputs (flag → path or value). */
  inputs: Record<string, string>;
  files: ManifestFile[];
  created_at: string;
}

export class OutputFolderError extends EegSaeError {}

export interface OutputSpec {
  /** The command, recorded as `made_by` and named in errors (`features`, `site`, ...). */
  madeBy: string;
  /** The flag naming the target, for errors (`--out`). */
  flag: string;
  /** Input paths by flag name: none may lie inside the target. */
  inputs: Record<string, string | undefined>;
}

function inside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new OutputFolderError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** The manifest of `dir` when it is a complete output (of `madeBy`, when given); else null. */
export async function readOutputManifest(
  dir: string,
  madeBy?: string,
): Promise<OutputManifest | null> {
  let m: OutputManifest;
  try {
    m = JSON.parse(await Deno.readTextFile(join(dir, OUTPUT_MANIFEST)));
  } catch {
    return null;
  }
  if (m?.format !== OUTPUT_FORMAT || !Array.isArray(m.files)) return null;
  if (madeBy !== undefined && m.made_by !== madeBy) return null;
  return m;
}

/** Like readOutputManifest, but a missing or foreign manifest is an error telling what to run. */
export async function requireOutputManifest(
  dir: string,
  madeBy: string,
): Promise<OutputManifest> {
  const m = await readOutputManifest(dir, madeBy);
  if (!m) {
    throw new OutputFolderError(
      `${dir} is not a complete output of \`deno task ${madeBy}\` (no ${OUTPUT_MANIFEST}): ` +
        `it was interrupted or written by an older version; run deno task ${madeBy} again`,
    );
  }
  return m;
}

/**
 * Refuses a target that is a file, a non-empty folder without a manifest of `spec.madeBy`, or a
 * folder holding one of the inputs. Writes nothing.
 */
export async function checkOutputTarget(target: string, spec: OutputSpec): Promise<void> {
  const abs = resolve(target);
  for (const [flag, value] of Object.entries(spec.inputs)) {
    if (value === undefined || value === "") continue;
    if (inside(resolve(value), abs)) {
      throw new OutputFolderError(
        `${spec.flag} ${target} contains the input --${flag} ${value}; choose another ${spec.flag}`,
      );
    }
  }
  const st = await statOrNull(abs);
  if (!st) return;
  if (!st.isDirectory) {
    throw new OutputFolderError(`${spec.flag} ${target} exists and is not a folder`);
  }
  let empty = true;
  for await (const _ of Deno.readDir(abs)) {
    empty = false;
    break;
  }
  if (empty || await readOutputManifest(abs, spec.madeBy)) return;
  const writer = await partialWriter(abs, spec.madeBy);
  if (writer !== null && !processAlive(writer)) return;
  if (writer !== null) {
    throw new OutputFolderError(
      `${spec.flag} ${target} is being written by process ${writer}; wait for it to finish`,
    );
  }
  throw new OutputFolderError(
    `${spec.flag} ${target} holds files not written by \`deno task ${spec.madeBy}\` (no ` +
      `${OUTPUT_MANIFEST}); choose an empty or new folder`,
  );
}

/** The writer's process id when `dir` is an unfinished in-place output of `madeBy`, else null. */
async function partialWriter(dir: string, madeBy: string): Promise<number | null> {
  try {
    const m = JSON.parse(await Deno.readTextFile(join(dir, PARTIAL_MARKER)));
    return m?.made_by === madeBy && Number.isInteger(m.pid) ? m.pid : null;
  } catch {
    return null;
  }
}

/** Whether `dir` is an in-place output of `madeBy` whose writer died before finishing it. */
async function deadPartialOf(dir: string, madeBy: string): Promise<boolean> {
  const pid = await partialWriter(dir, madeBy);
  return pid !== null && !processAlive(pid);
}

/** Every regular file under `dir`, relative paths, sorted; the manifest itself left out. */
async function listFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory) await walk(join(d, e.name), r);
      else if (e.isFile && r !== OUTPUT_MANIFEST && r !== PARTIAL_MARKER) files.push(r);
    }
  };
  await walk(dir, "");
  return files.sort();
}

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Writes `dir`'s manifest (call last, once every file is in place). */
export async function writeOutputManifest(
  dir: string,
  madeBy: string,
  inputs: Record<string, string | undefined>,
): Promise<OutputManifest> {
  const files: ManifestFile[] = [];
  for (const path of await listFiles(dir)) {
    const bytes = (await Deno.stat(join(dir, path))).size;
    files.push(
      bytes <= HASHED_BYTES ? { path, bytes, sha256: await sha256(join(dir, path)) } : {
        path,
        bytes,
      },
    );
  }
  const defined: Record<string, string> = {};
  for (const [k, v] of Object.entries(inputs)) if (v !== undefined) defined[k] = v;
  const manifest: OutputManifest = {
    format: OUTPUT_FORMAT,
    made_by: madeBy,
    inputs: defined,
    files,
    created_at: new Date().toISOString(),
  };
  await writeJsonAtomic(join(dir, OUTPUT_MANIFEST), manifest);
  return manifest;
}

/** Names of the temporary folders beside `target`, tagged with the writer's PID. */
function partialName(target: string, pid: number): string {
  return join(dirname(target), `.${basename(target)}.partial-${pid}`);
}
function asideName(target: string, pid: number): string {
  return join(dirname(target), `.${basename(target)}.old-${pid}`);
}

/**
 * Removes what an interrupted writer of `target` left beside it; a previous output moved aside
 * by a writer killed mid-swap is put back first.
 */
async function recoverInterrupted(target: string): Promise<void> {
  const parent = dirname(target);
  const prefix = `.${basename(target)}.`;
  const left: { path: string; kind: string }[] = [];
  try {
    for await (const e of Deno.readDir(parent)) {
      if (!e.isDirectory || !e.name.startsWith(prefix)) continue;
      const m = /^(partial|old)-(\d+)$/.exec(e.name.slice(prefix.length));
      if (m && !processAlive(Number(m[2]))) left.push({ path: join(parent, e.name), kind: m[1] });
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw e;
  }
  for (const l of left) {
    if (l.kind === "old" && !await statOrNull(target)) await Deno.rename(l.path, target);
    else await removeLeftover(l.path);
  }
}

/**
 * Removes a dead writer's folder. A child of that writer (the site's Astro build) may still be
 * adding files for a moment before it notices its parent is gone, so a removal that races it is
 * tried again.
 */
async function removeLeftover(path: string): Promise<void> {
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.remove(path, { recursive: true });
      return;
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return;
      if (attempt === 10) {
        throw new OutputFolderError(`cannot remove ${path}: ${(e as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/** An output being built: files go into `dir`; `commit` swaps it in, `abort` throws it away. */
export interface PendingOutput {
  dir: string;
  commit: () => Promise<void>;
  abort: () => Promise<void>;
}

/** Checks the target and takes its lock (`.NAME.lock` beside it). */
async function checkAndLock(abs: string, target: string, spec: OutputSpec): Promise<FolderLock> {
  await checkOutputTarget(abs, spec);
  await Deno.mkdir(dirname(abs), { recursive: true });
  return await acquireFolderLock(
    join(dirname(abs), `.${basename(abs)}.lock`),
    `${spec.flag} ${target}`,
  );
}

/**
 * Checks the target, takes its lock (`.NAME.lock` beside it) and makes the temporary folder
 * beside it. Taken before a long computation, so a second writer is refused at once.
 */
export async function beginOutputFolder(target: string, spec: OutputSpec): Promise<PendingOutput> {
  const abs = resolve(target);
  const lock = await checkAndLock(abs, target, spec);
  const tmp = partialName(abs, Deno.pid);
  try {
    await recoverInterrupted(abs);
    // Checked again under the lock: another writer may have finished meanwhile.
    await checkOutputTarget(abs, spec);
    await Deno.mkdir(tmp, { recursive: true });
  } catch (e) {
    await lock.release();
    throw e;
  }
  const abort = async () => {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    await lock.release();
  };
  const commit = async () => {
    try {
      await writeOutputManifest(tmp, spec.madeBy, spec.inputs);
      const aside = asideName(abs, Deno.pid);
      const old = await statOrNull(abs);
      if (old) await Deno.rename(abs, aside);
      await Deno.rename(tmp, abs);
      if (old) await Deno.remove(aside, { recursive: true });
    } finally {
      await abort();
    }
  };
  return { dir: tmp, commit, abort };
}

/** beginOutputFolder, `build` into its folder, then commit (or abort when `build` throws). */
export async function writeOutputFolder<T>(
  target: string,
  spec: OutputSpec,
  build: (dir: string) => Promise<T>,
): Promise<T> {
  const pending = await beginOutputFolder(target, spec);
  let result: T;
  try {
    result = await build(pending.dir);
  } catch (e) {
    await pending.abort();
    throw e;
  }
  await pending.commit();
  return result;
}

/**
 * For outputs that record their own path (a demo run folder): the previous output is moved aside,
 * the new one is built at the target itself under a marker naming this process, and the old one
 * is removed once the manifest is written, or put back if the build fails. A folder left by a
 * killed writer is recognised by its marker, removed, and the previous output restored.
 */
export async function writeOutputInPlace<T>(
  target: string,
  spec: OutputSpec,
  build: (dir: string) => Promise<T>,
): Promise<T> {
  const abs = resolve(target);
  const lock = await checkAndLock(abs, target, spec);
  try {
    if (await deadPartialOf(abs, spec.madeBy)) await Deno.remove(abs, { recursive: true });
    await recoverInterrupted(abs);
    await checkOutputTarget(abs, spec);
    const aside = asideName(abs, Deno.pid);
    const old = await statOrNull(abs);
    if (old) await Deno.rename(abs, aside);
    await Deno.mkdir(abs, { recursive: true });
    await writeJsonAtomic(join(abs, PARTIAL_MARKER), { made_by: spec.madeBy, pid: Deno.pid });
    let result: T;
    try {
      result = await build(abs);
      await writeOutputManifest(abs, spec.madeBy, spec.inputs);
      await Deno.remove(join(abs, PARTIAL_MARKER));
    } catch (e) {
      await Deno.remove(abs, { recursive: true }).catch(() => {});
      if (old) await Deno.rename(aside, abs).catch(() => {});
      throw e;
    }
    if (old) await Deno.remove(aside, { recursive: true });
    return result;
  } finally {
    await lock.release();
  }
}
