/**
 * Checks an LMDB `data.mdb` against its own meta pages before the database is memory-mapped: a
 * file shorter than the last page its header records would crash the process with SIGBUS on the
 * first read past its end, so it is refused here with its path instead.
 *
 * Layout (LMDB 0.9, 64-bit): pages 0 and 1 are meta pages; after a 16-byte page header each holds
 * magic u32 0xBEEFC0DE, version u32, address u64, map size u64, two 48-byte database records (the
 * first one's leading u32 is the page size), last page number u64 and transaction id u64. The
 * meta page with the higher transaction id is the current one.
 */
import { EegSaeError } from "../util/errors.ts";

export class LmdbHeaderError extends EegSaeError {}

const MAGIC = 0xbeefc0de;
const META_OFFSET = 16;
/** The smallest page size LMDB uses; both meta pages fit in two of them. */
const MIN_PAGE = 512;

export interface LmdbHeader {
  pageSize: number;
  mapSize: number;
  lastPage: number;
  txnId: number;
  fileBytes: number;
}

interface Meta {
  magic: number;
  version: number;
  mapSize: number;
  pageSize: number;
  lastPage: number;
  txnId: number;
}

function readMeta(view: DataView, at: number): Meta {
  const m = at + META_OFFSET;
  return {
    magic: view.getUint32(m, true),
    version: view.getUint32(m + 4, true),
    mapSize: Number(view.getBigUint64(m + 16, true)),
    pageSize: view.getUint32(m + 24, true),
    lastPage: Number(view.getBigUint64(m + 120, true)),
    txnId: Number(view.getBigUint64(m + 128, true)),
  };
}

/** Reads and checks the header of `file` (a `data.mdb`); throws LmdbHeaderError naming it. */
export async function checkLmdbDataFile(file: string): Promise<LmdbHeader> {
  let bytes: Uint8Array;
  let fileBytes: number;
  const f = await Deno.open(file, { read: true });
  try {
    fileBytes = (await f.stat()).size;
    bytes = new Uint8Array(Math.min(fileBytes, 2 * 65536));
    let got = 0;
    while (got < bytes.length) {
      const n = await f.read(bytes.subarray(got));
      if (n === null) break;
      got += n;
    }
    bytes = bytes.subarray(0, got);
  } finally {
    f.close();
  }
  if (bytes.length < 2 * MIN_PAGE) {
    throw new LmdbHeaderError(`${file}: ${fileBytes} bytes, too short for an LMDB header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const first = readMeta(view, 0);
  if (first.magic !== MAGIC) {
    throw new LmdbHeaderError(`${file}: not an LMDB data file (bad magic number in its header)`);
  }
  const pageSize = first.pageSize;
  if (pageSize < MIN_PAGE || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    throw new LmdbHeaderError(`${file}: header records an impossible page size ${pageSize}`);
  }
  const metas = [first];
  if (bytes.length >= 2 * pageSize) {
    const second = readMeta(view, pageSize);
    if (second.magic === MAGIC) metas.push(second);
  }
  const meta = metas.reduce((a, b) => (b.txnId > a.txnId ? b : a));
  if (meta.version !== 1) {
    throw new LmdbHeaderError(`${file}: LMDB format version ${meta.version}, expected 1`);
  }
  const need = (meta.lastPage + 1) * pageSize;
  if (fileBytes < need) {
    throw new LmdbHeaderError(
      `${file}: truncated: its header records ${meta.lastPage + 1} pages of ${pageSize} bytes ` +
        `(${need} bytes), the file has ${fileBytes}`,
    );
  }
  if (meta.mapSize > 0 && need > meta.mapSize) {
    throw new LmdbHeaderError(
      `${file}: corrupted header: last page ${meta.lastPage} lies beyond the map size ${meta.mapSize}`,
    );
  }
  return { pageSize, mapSize: meta.mapSize, lastPage: meta.lastPage, txnId: meta.txnId, fileBytes };
}
