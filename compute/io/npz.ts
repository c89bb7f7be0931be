/**
 * NPZ archives (numpy's np.savez / np.savez_compressed): a zip of `name.npy` entries. The zip layer is
 * handled here (stored and deflated entries, ZIP64 records as numpy writes them); fflate only inflates.
 */
import { deflateSync, inflateSync } from "fflate";
import { writeFileAtomic } from "./atomic.ts";
import { decodeNpy, encodeNpy, type NdArray } from "./npy.ts";
import { EegSaeError } from "../util/errors.ts";

export class NpzError extends EegSaeError {
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
  }
}

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EXTRA_ID = 0x0001;
const U16_MAX = 0xffff;
const U32_MAX = 0xffffffff;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
/** DOS date 1980-01-01 00:00, the timestamp numpy's savez gives every entry; keeps output reproducible. */
const DOS_DATE_1980 = 0x0021;
const FLAG_UTF8_NAME = 0x0800;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function getU64(view: DataView, offset: number): number {
  const v = view.getBigUint64(offset, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`64-bit value ${v} is too large`);
  return Number(v);
}

/** One file inside a zip archive, as described by its central directory record. */
export interface ZipEntry {
  name: string;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

function findEndOfCentralDirectory(view: DataView, path: string): number {
  // The EOCD record is 22 bytes plus a comment of at most 65535 bytes at the end of the file.
  const earliest = Math.max(0, view.byteLength - 22 - U16_MAX);
  for (let p = view.byteLength - 22; p >= earliest; p--) {
    if (view.getUint32(p, true) === SIG_EOCD) return p;
  }
  throw new NpzError(path, "not a zip archive (no end-of-central-directory record; truncated?)");
}

/** Reads the central directory of a zip held in memory. */
export function listZipEntries(bytes: Uint8Array, path: string): ZipEntry[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const eocd = findEndOfCentralDirectory(view, path);
  let count = view.getUint16(eocd + 10, true);
  let cdSize = view.getUint32(eocd + 12, true);
  let cdOffset = view.getUint32(eocd + 16, true);
  const locator = eocd - 20;
  if (locator >= 0 && view.getUint32(locator, true) === SIG_ZIP64_LOCATOR) {
    const z64 = getU64(view, locator + 8);
    if (z64 + 56 > bytes.length || view.getUint32(z64, true) !== SIG_ZIP64_EOCD) {
      throw new NpzError(path, `ZIP64 end-of-central-directory record missing at offset ${z64}`);
    }
    count = getU64(view, z64 + 32);
    cdSize = getU64(view, z64 + 40);
    cdOffset = getU64(view, z64 + 48);
  }
  if (cdOffset + cdSize > bytes.length) {
    throw new NpzError(
      path,
      `central directory (offset ${cdOffset}, ${cdSize} bytes) lies past the end of the file`,
    );
  }
  const entries: ZipEntry[] = [];
  const names = new TextDecoder();
  let p = cdOffset;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cdOffset + cdSize || view.getUint32(p, true) !== SIG_CENTRAL) {
      throw new NpzError(path, `corrupt central directory at entry ${i} (offset ${p})`);
    }
    const method = view.getUint16(p + 10, true);
    const crc = view.getUint32(p + 16, true);
    let compressedSize = view.getUint32(p + 20, true);
    let size = view.getUint32(p + 24, true);
    const nameLen = view.getUint16(p + 28, true);
    const extraLen = view.getUint16(p + 30, true);
    const commentLen = view.getUint16(p + 32, true);
    let localHeaderOffset = view.getUint32(p + 42, true);
    const name = names.decode(bytes.subarray(p + 46, p + 46 + nameLen));
    // ZIP64 extra field: holds, in this order, only the fields whose 32-bit slot is 0xFFFFFFFF.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = view.getUint16(e, true);
      const len = view.getUint16(e + 2, true);
      if (id === ZIP64_EXTRA_ID) {
        let q = e + 4;
        if (size === U32_MAX) {
          size = getU64(view, q);
          q += 8;
        }
        if (compressedSize === U32_MAX) {
          compressedSize = getU64(view, q);
          q += 8;
        }
        if (localHeaderOffset === U32_MAX) localHeaderOffset = getU64(view, q);
      }
      e += 4 + len;
    }
    entries.push({ name, method, crc, compressedSize, size, localHeaderOffset });
    p = extraEnd + commentLen;
  }
  return entries;
}

/** Returns the uncompressed bytes of one entry, checking its size and CRC. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, path: string): Uint8Array {
  const where = `${path}[${entry.name}]`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const h = entry.localHeaderOffset;
  if (h + 30 > bytes.length || view.getUint32(h, true) !== SIG_LOCAL) {
    throw new NpzError(where, `no local file header at offset ${h}`);
  }
  // Sizes in the local header may be 0xFFFFFFFF placeholders (numpy forces ZIP64); trust the central directory.
  const start = h + 30 + view.getUint16(h + 26, true) + view.getUint16(h + 28, true);
  const end = start + entry.compressedSize;
  if (end > bytes.length) {
    throw new NpzError(
      where,
      `truncated: entry needs bytes up to ${end}, file has ${bytes.length}`,
    );
  }
  const stored = bytes.subarray(start, end);
  let data: Uint8Array;
  if (entry.method === METHOD_STORED) {
    data = stored;
  } else if (entry.method === METHOD_DEFLATE) {
    try {
      data = inflateSync(stored, { out: new Uint8Array(entry.size) });
    } catch (e) {
      throw new NpzError(where, `cannot inflate: ${(e as Error).message}`, { cause: e });
    }
  } else {
    throw new NpzError(
      where,
      `unsupported compression method ${entry.method} (expected stored or deflate)`,
    );
  }
  if (data.length !== entry.size) {
    throw new NpzError(
      where,
      `expected ${entry.size} bytes after decompression, got ${data.length}`,
    );
  }
  if (crc32(data) !== entry.crc) throw new NpzError(where, "CRC mismatch (corrupt archive)");
  return data;
}

/** Decodes an in-memory `.npz`; keys are the entry names without `.npy`. */
export function decodeNpz(bytes: Uint8Array, path = "npz"): Map<string, NdArray> {
  const arrays = new Map<string, NdArray>();
  for (const entry of listZipEntries(bytes, path)) {
    if (entry.name.endsWith("/")) continue; // directory entries carry no data
    if (!entry.name.endsWith(".npy")) {
      throw new NpzError(path, `entry '${entry.name}' is not an .npy array`);
    }
    const key = entry.name.slice(0, -4);
    arrays.set(key, decodeNpy(readZipEntry(bytes, entry, path), `${path}[${key}]`));
  }
  return arrays;
}

export async function readNpz(path: string): Promise<Map<string, NdArray>> {
  return decodeNpz(await Deno.readFile(path), path);
}

export interface ZipWriteOptions {
  /** Deflate entries (as np.savez_compressed) instead of storing them (as np.savez). */
  compress?: boolean;
  /** Write ZIP64 records even when sizes fit 32 bits (they are written anyway when needed). */
  forceZip64?: boolean;
}

interface PreparedEntry {
  name: Uint8Array;
  method: number;
  crc: number;
  size: number;
  payload: Uint8Array;
  offset: number;
}

/** Builds a zip archive from named files. */
export function encodeZip(
  files: [string, Uint8Array][],
  options: ZipWriteOptions = {},
): Uint8Array {
  const encoder = new TextEncoder();
  const entries: PreparedEntry[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const payload = options.compress ? deflateSync(data, { level: 6 }) : data;
    const entry: PreparedEntry = {
      name: encoder.encode(name),
      method: options.compress ? METHOD_DEFLATE : METHOD_STORED,
      crc: crc32(data),
      size: data.length,
      payload,
      offset,
    };
    entries.push(entry);
    offset += 30 + entry.name.length + localExtraLength(entry, options) + payload.length;
  }
  const cdOffset = offset;
  const cdSize = entries.reduce(
    (s, e) => s + 46 + e.name.length + centralExtraLength(e, options),
    0,
  );
  const needZip64End = options.forceZip64 || entries.length >= U16_MAX || cdOffset >= U32_MAX ||
    cdSize >= U32_MAX;
  const total = cdOffset + cdSize + (needZip64End ? 56 + 20 : 0) + 22;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let p = 0;
  for (const e of entries) {
    const z64 = localExtraLength(e, options) > 0;
    view.setUint32(p, SIG_LOCAL, true);
    view.setUint16(p + 4, z64 ? 45 : 20, true); // version needed: 4.5 for ZIP64, 2.0 for deflate
    view.setUint16(p + 6, FLAG_UTF8_NAME, true);
    view.setUint16(p + 8, e.method, true);
    view.setUint16(p + 10, 0, true);
    view.setUint16(p + 12, DOS_DATE_1980, true);
    view.setUint32(p + 14, e.crc, true);
    view.setUint32(p + 18, z64 ? U32_MAX : e.payload.length, true);
    view.setUint32(p + 22, z64 ? U32_MAX : e.size, true);
    view.setUint16(p + 26, e.name.length, true);
    view.setUint16(p + 28, z64 ? 20 : 0, true);
    out.set(e.name, p + 30);
    p += 30 + e.name.length;
    if (z64) {
      view.setUint16(p, ZIP64_EXTRA_ID, true);
      view.setUint16(p + 2, 16, true);
      view.setBigUint64(p + 4, BigInt(e.size), true);
      view.setBigUint64(p + 12, BigInt(e.payload.length), true);
      p += 20;
    }
    out.set(e.payload, p);
    p += e.payload.length;
  }
  for (const e of entries) {
    const fields = centralZip64Fields(e, options);
    view.setUint32(p, SIG_CENTRAL, true);
    view.setUint16(p + 4, (3 << 8) | 45, true); // made by: Unix (so the mode below counts), spec 4.5
    view.setUint16(p + 6, fields.length > 0 ? 45 : 20, true);
    view.setUint16(p + 8, FLAG_UTF8_NAME, true);
    view.setUint16(p + 10, e.method, true);
    view.setUint16(p + 12, 0, true);
    view.setUint16(p + 14, DOS_DATE_1980, true);
    view.setUint32(p + 16, e.crc, true);
    view.setUint32(p + 20, fields.includes("compressed") ? U32_MAX : e.payload.length, true);
    view.setUint32(p + 24, fields.includes("size") ? U32_MAX : e.size, true);
    view.setUint16(p + 28, e.name.length, true);
    view.setUint16(p + 30, fields.length > 0 ? 4 + 8 * fields.length : 0, true);
    view.setUint16(p + 32, 0, true); // comment
    view.setUint16(p + 34, 0, true); // disk
    view.setUint16(p + 36, 0, true); // internal attributes
    view.setUint32(p + 38, 0o100644 << 16, true); // unix mode rw-r--r-- regular file
    view.setUint32(p + 42, fields.includes("offset") ? U32_MAX : e.offset, true);
    out.set(e.name, p + 46);
    p += 46 + e.name.length;
    if (fields.length > 0) {
      view.setUint16(p, ZIP64_EXTRA_ID, true);
      view.setUint16(p + 2, 8 * fields.length, true);
      p += 4;
      for (const f of fields) {
        const v = f === "size" ? e.size : f === "compressed" ? e.payload.length : e.offset;
        view.setBigUint64(p, BigInt(v), true);
        p += 8;
      }
    }
  }
  if (needZip64End) {
    const z64 = p;
    view.setUint32(p, SIG_ZIP64_EOCD, true);
    view.setBigUint64(p + 4, 44n, true); // size of the remaining record
    view.setUint16(p + 12, 45, true);
    view.setUint16(p + 14, 45, true);
    view.setUint32(p + 16, 0, true);
    view.setUint32(p + 20, 0, true);
    view.setBigUint64(p + 24, BigInt(entries.length), true);
    view.setBigUint64(p + 32, BigInt(entries.length), true);
    view.setBigUint64(p + 40, BigInt(cdSize), true);
    view.setBigUint64(p + 48, BigInt(cdOffset), true);
    p += 56;
    view.setUint32(p, SIG_ZIP64_LOCATOR, true);
    view.setUint32(p + 4, 0, true);
    view.setBigUint64(p + 8, BigInt(z64), true);
    view.setUint32(p + 16, 1, true);
    p += 20;
  }
  view.setUint32(p, SIG_EOCD, true);
  view.setUint16(p + 8, Math.min(entries.length, U16_MAX), true);
  view.setUint16(p + 10, Math.min(entries.length, U16_MAX), true);
  view.setUint32(p + 12, needZip64End ? U32_MAX : cdSize, true);
  view.setUint32(p + 16, needZip64End ? U32_MAX : cdOffset, true);
  return out;
}

function localExtraLength(e: PreparedEntry, options: ZipWriteOptions): number {
  return options.forceZip64 || e.size >= U32_MAX || e.payload.length >= U32_MAX ? 20 : 0;
}

type Zip64Field = "size" | "compressed" | "offset";

function centralZip64Fields(e: PreparedEntry, options: ZipWriteOptions): Zip64Field[] {
  const force = options.forceZip64 ?? false;
  const fields: Zip64Field[] = [];
  if (force || e.size >= U32_MAX) fields.push("size");
  if (force || e.payload.length >= U32_MAX) fields.push("compressed");
  if (force || e.offset >= U32_MAX) fields.push("offset");
  return fields;
}

function centralExtraLength(e: PreparedEntry, options: ZipWriteOptions): number {
  const n = centralZip64Fields(e, options).length;
  return n > 0 ? 4 + 8 * n : 0;
}

/** Encodes arrays as an `.npz` that np.load opens; keys become `key.npy` entries. */
export function encodeNpz(
  arrays: Record<string, NdArray> | Map<string, NdArray>,
  options: ZipWriteOptions = {},
): Uint8Array {
  const pairs = arrays instanceof Map ? [...arrays] : Object.entries(arrays);
  return encodeZip(pairs.map(([k, a]) => [`${k}.npy`, encodeNpy(a, k)]), options);
}

export async function writeNpz(
  path: string,
  arrays: Record<string, NdArray> | Map<string, NdArray>,
  options: { compress?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(path, encodeNpz(arrays, options));
}
