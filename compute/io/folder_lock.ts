/**
 * A lock file naming the PID of the process writing a folder, so a second writer is refused with
 * who holds it. A lock whose process is gone (killed, crashed) is stale and taken over.
 */
import { EegSaeError } from "../util/errors.ts";

export class FolderLockError extends EegSaeError {}

export interface FolderLock {
  path: string;
  release: () => Promise<void>;
}

/** Whether a process with this id runs; on Linux through /proc, elsewhere by a harmless signal. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === Deno.pid) return true;
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) return true;
    if (Deno.build.os === "linux") return false;
  }
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

async function readHolder(path: string): Promise<number | null> {
  try {
    const text = await Deno.readTextFile(path);
    const pid = Number(JSON.parse(text).pid);
    return Number.isInteger(pid) ? pid : null;
  } catch {
    return null;
  }
}

/**
 * Creates `path` exclusively with `{pid, command, since}`. A lock held by a live process is an
 * error naming it; a stale or unreadable one is replaced.
 */
export async function acquireFolderLock(path: string, what: string): Promise<FolderLock> {
  const body = JSON.stringify({
    pid: Deno.pid,
    command: ["deno", ...Deno.args].join(" "),
    since: new Date().toISOString(),
  }) + "\n";
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await Deno.open(path, { write: true, createNew: true });
      await file.write(new TextEncoder().encode(body));
      file.close();
      return {
        path,
        release: async () => {
          if (await readHolder(path) === Deno.pid) await Deno.remove(path).catch(() => {});
        },
      };
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) {
        throw new FolderLockError(`cannot create the lock ${path}: ${(e as Error).message}`);
      }
    }
    const holder = await readHolder(path);
    // This process holds it already (a pipeline stage inside `deno task demo`).
    if (holder === Deno.pid) return { path, release: () => Promise.resolve() };
    if (holder !== null && processAlive(holder)) {
      throw new FolderLockError(
        `${what} is being written by process ${holder} (lock ${path}); wait for it to finish, ` +
          `or stop it`,
      );
    }
    // Stale: its writer is gone.
    await Deno.remove(path).catch(() => {});
  }
  throw new FolderLockError(`cannot take over the stale lock ${path}`);
}
