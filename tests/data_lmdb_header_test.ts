/**
 * `data.mdb` checked against its own header before it is mapped (compute/data/lmdb_header.ts), on
 * a database py-lmdb wrote: its meta pages read back as LMDB writes them, and a short, foreign or
 * damaged file is an error naming it instead of a SIGBUS on the first read past its end.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { checkLmdbDataFile, LmdbHeaderError } from "../compute/data/lmdb_header.ts";

const PY_LMDB = new URL("./fixtures/data/lmdb/reve_p4/data.mdb", import.meta.url).pathname;

async function damaged(edit: (bytes: Uint8Array) => Uint8Array): Promise<string> {
  const dir = await Deno.makeTempDir();
  const path = join(dir, "data.mdb");
  await Deno.writeFile(path, edit(await Deno.readFile(PY_LMDB)));
  return path;
}

Deno.test("lmdb header: py-lmdb's file is whole; its last page ends the file", async () => {
  const h = await checkLmdbDataFile(PY_LMDB);
  assert.equal(h.pageSize, 4096);
  assert.equal(h.fileBytes, (h.lastPage + 1) * h.pageSize);
  assert.equal(h.mapSize, 1 << 24); // make_data_fixtures.py opens with map_size=1 << 24
});

Deno.test("lmdb header: truncated, foreign and damaged files are refused naming the file", async () => {
  const truncated = await damaged((b) => b.slice(0, b.length - 4096));
  await assert.rejects(
    () => checkLmdbDataFile(truncated),
    (e: Error) => e instanceof LmdbHeaderError && e.message.startsWith(`${truncated}: truncated`),
  );
  const foreign = await damaged(() => new TextEncoder().encode("not a database".repeat(200)));
  await assert.rejects(() => checkLmdbDataFile(foreign), /bad magic number/);
  const tiny = await damaged((b) => b.slice(0, 100));
  await assert.rejects(() => checkLmdbDataFile(tiny), /too short for an LMDB header/);
  const pageSize = await damaged((b) => {
    const c = b.slice();
    new DataView(c.buffer).setUint32(16 + 24, 3000, true);
    return c;
  });
  await assert.rejects(() => checkLmdbDataFile(pageSize), /impossible page size 3000/);
  for (const p of [truncated, foreign, tiny, pageSize]) {
    await Deno.remove(join(p, ".."), { recursive: true });
  }
});
