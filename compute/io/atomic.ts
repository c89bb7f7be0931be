/** Writes files through a temporary name and a rename, so an interrupted run never leaves half a file. */
import { dirname } from "node:path";
import { EegSaeError } from "../util/errors.ts";

export class WriteError extends EegSaeError {
  constructor(path: string, cause: unknown) {
    super(`cannot write ${path}: ${(cause as Error).message ?? cause}`, { cause });
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${Deno.pid}.${crypto.randomUUID().slice(0, 8)}.tmp`;
  try {
    await Deno.mkdir(dirname(path), { recursive: true });
    if (typeof data === "string") await Deno.writeTextFile(tmp, data);
    else await Deno.writeFile(tmp, data);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new WriteError(path, e);
  }
}

export function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  return writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}
