/**
 * safetensors files: an 8-byte little-endian header length, a JSON header (`__metadata__` plus one
 * entry per tensor with dtype, shape and data_offsets) and the packed tensor bytes. Reading loads the
 * header, then all tensor bytes with one read into one buffer; aligned F32 tensors are views of it.
 */
import { writeFileAtomic } from "./atomic.ts";
import { EegSaeError } from "../util/errors.ts";

export type SafetensorsDtype = "F32" | "F16" | "BF16" | "F64" | "I64" | "I32";

/** Float dtypes are all widened/narrowed to Float32Array; integer dtypes keep their width. */
export type SafetensorsTensor =
  | { dtype: "F32" | "F16" | "BF16" | "F64"; shape: number[]; data: Float32Array }
  | { dtype: "I32"; shape: number[]; data: Int32Array }
  | { dtype: "I64"; shape: number[]; data: BigInt64Array };

export interface SafetensorsFile {
  path: string;
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensor>;
}

export class SafetensorsError extends EegSaeError {
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
  }
}

const ITEMSIZE: Record<SafetensorsDtype, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
};
/** Refuse absurd header lengths (a corrupt length would otherwise allocate gigabytes). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

interface HeaderEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

async function readFull(
  file: Deno.FsFile,
  into: Uint8Array,
  path: string,
  what: string,
): Promise<void> {
  let got = 0;
  while (got < into.length) {
    const n = await file.read(into.subarray(got));
    if (n === null) {
      throw new SafetensorsError(
        path,
        `truncated file: ${what} needs ${into.length} bytes, found ${got}`,
      );
    }
    got += n;
  }
}

function parseHeader(text: string, path: string, dataLength: number) {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(path, `header is not valid JSON: ${(e as Error).message}`, {
      cause: e,
    });
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new SafetensorsError(path, "header must be a JSON object");
  }
  const metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new SafetensorsError(path, "__metadata__ must be an object of strings");
      }
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== "string") {
          throw new SafetensorsError(
            path,
            `__metadata__.${k} must be a string, got ${JSON.stringify(v)}`,
          );
        }
        metadata[k] = v;
      }
      continue;
    }
    entries.push(parseEntry(name, raw, path));
  }
  checkOffsets(entries, path, dataLength);
  return { metadata, entries };
}

function parseEntry(name: string, raw: unknown, path: string): HeaderEntry {
  const fail = (what: string): never => {
    throw new SafetensorsError(path, `tensor '${name}': ${what}`);
  };
  if (raw === null || typeof raw !== "object") fail("header entry must be an object");
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== "string" || !(dtype in ITEMSIZE)) {
    fail(
      `unsupported dtype ${JSON.stringify(dtype)} (expected one of ${
        Object.keys(ITEMSIZE).join(", ")
      })`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (
    !Array.isArray(offsets) || offsets.length !== 2 ||
    !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[1] < offsets[0]
  ) {
    fail(
      `data_offsets must be [begin, end] with 0 <= begin <= end, got ${JSON.stringify(offsets)}`,
    );
  }
  const entry: HeaderEntry = {
    name,
    dtype: dtype as SafetensorsDtype,
    shape: shape as number[],
    begin: (offsets as number[])[0],
    end: (offsets as number[])[1],
  };
  const expected = (entry.shape as number[]).reduce((a, b) => a * b, 1) * ITEMSIZE[entry.dtype];
  if (entry.end - entry.begin !== expected) {
    fail(
      `data_offsets [${entry.begin}, ${entry.end}] span ${entry.end - entry.begin} bytes but ` +
        `${entry.dtype} [${entry.shape}] needs ${expected}`,
    );
  }
  return entry;
}

/** Tensors must tile the data section exactly: no gaps, no overlaps, nothing past the end. */
function checkOffsets(entries: HeaderEntry[], path: string, dataLength: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  for (const e of sorted) {
    if (e.end > dataLength) {
      throw new SafetensorsError(
        path,
        `truncated file: tensor '${e.name}' ends at data offset ${e.end}, data section has ${dataLength} bytes`,
      );
    }
    if (e.begin !== cursor) {
      throw new SafetensorsError(
        path,
        `tensor '${e.name}' starts at data offset ${e.begin}, expected ${cursor} (offsets must be contiguous)`,
      );
    }
    cursor = e.end;
  }
  if (cursor !== dataLength) {
    throw new SafetensorsError(
      path,
      `data section has ${dataLength - cursor} bytes not covered by any tensor`,
    );
  }
}

function bf16ToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

function decodeTensor(e: HeaderEntry, data: Uint8Array): SafetensorsTensor {
  const n = e.shape.reduce((a, b) => a * b, 1);
  const size = ITEMSIZE[e.dtype];
  // A view when the offset is aligned for the element type; otherwise a copy to an aligned buffer.
  const aligned = (e.begin + data.byteOffset) % size === 0;
  const buffer = aligned ? data.buffer : data.slice(e.begin, e.end).buffer;
  const offset = aligned ? data.byteOffset + e.begin : 0;
  const { dtype, shape } = e;
  switch (dtype) {
    case "I32":
      return { dtype, shape, data: new Int32Array(buffer, offset, n) };
    case "I64":
      return { dtype, shape, data: new BigInt64Array(buffer, offset, n) };
  }
  // Floating point is widened or narrowed to float32, the type every consumer computes in.
  const floats = {
    F32: () => new Float32Array(buffer, offset, n),
    F16: () => new Float32Array(new Float16Array(buffer, offset, n)),
    BF16: () => bf16ToFloat32(new Uint16Array(buffer, offset, n)),
    F64: () => new Float32Array(new Float64Array(buffer, offset, n)),
  };
  return { dtype, shape, data: floats[dtype]() };
}

/** The `__metadata__` of a file, reading only its header. */
export async function readSafetensorsMetadata(path: string): Promise<Record<string, string>> {
  using file = await Deno.open(path, { read: true });
  const fileSize = (await file.stat()).size;
  const headerBytes = await readHeaderBytes(file, path, fileSize);
  return parseHeader(new TextDecoder().decode(headerBytes), path, fileSize - 8 - headerBytes.length)
    .metadata;
}

async function readHeaderBytes(file: Deno.FsFile, path: string, fileSize: number) {
  const lengthBytes = new Uint8Array(8);
  await readFull(file, lengthBytes, path, "the 8-byte header length");
  const headerLength = new DataView(lengthBytes.buffer).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, fileSize - 8))) {
    throw new SafetensorsError(
      path,
      `header length ${headerLength} exceeds the file (${fileSize} bytes) or the ${MAX_HEADER_BYTES}-byte limit; ` +
        `truncated or not a safetensors file`,
    );
  }
  const headerBytes = new Uint8Array(Number(headerLength));
  await readFull(file, headerBytes, path, "the JSON header");
  return headerBytes;
}

export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  using file = await Deno.open(path, { read: true });
  const fileSize = (await file.stat()).size;
  const headerBytes = await readHeaderBytes(file, path, fileSize);
  const dataLength = fileSize - 8 - headerBytes.length;
  const { metadata, entries } = parseHeader(
    new TextDecoder().decode(headerBytes),
    path,
    dataLength,
  );
  const data = new Uint8Array(dataLength);
  await readFull(file, data, path, "the tensor data");
  const tensors = new Map<string, SafetensorsTensor>();
  for (const e of entries) tensors.set(e.name, decodeTensor(e, data));
  return { path, metadata, tensors };
}

/**
 * Throws naming the first tensor of `file` that holds NaN or ±Inf, and where: weights that are
 * not finite make every output NaN without any other error.
 */
export function assertFiniteTensors(file: SafetensorsFile): void {
  for (const [name, t] of file.tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    const d = t.data;
    for (let i = 0; i < d.length; i++) {
      if (!Number.isFinite(d[i])) {
        throw new SafetensorsError(
          file.path,
          `tensor "${name}" [${t.shape}] holds ${d[i]} at flat index ${i}`,
        );
      }
    }
  }
}

/** A float tensor by name, with an optional shape check; throws naming the file and tensor. */
export function floatTensor(
  file: SafetensorsFile,
  name: string,
  expectedShape?: readonly number[],
): { shape: number[]; data: Float32Array } {
  const t = file.tensors.get(name);
  if (!t) throw new SafetensorsError(file.path, `missing tensor '${name}'`);
  if (!(t.data instanceof Float32Array)) {
    throw new SafetensorsError(
      file.path,
      `tensor '${name}' is ${t.dtype}, expected a float tensor`,
    );
  }
  if (
    expectedShape &&
    (t.shape.length !== expectedShape.length || t.shape.some((d, i) => d !== expectedShape[i]))
  ) {
    throw new SafetensorsError(
      file.path,
      `tensor '${name}' has shape [${t.shape}], expected [${expectedShape}]`,
    );
  }
  return { shape: t.shape, data: t.data };
}

export interface TensorToWrite {
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array;
}

function dtypeOf(data: TensorToWrite["data"]): SafetensorsDtype {
  if (data instanceof Float32Array) return "F32";
  if (data instanceof Int32Array) return "I32";
  return "I64";
}

/** Encodes tensors in sorted key order, header padded with spaces to a multiple of 8 bytes. */
export function encodeSafetensors(
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
  path = "safetensors",
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    if (name === "__metadata__") {
      throw new SafetensorsError(path, "'__metadata__' cannot be a tensor name");
    }
    const { shape, data } = tensors[name];
    const n = shape.reduce((a, b) => a * b, 1);
    if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0) || n !== data.length) {
      throw new SafetensorsError(
        path,
        `tensor '${name}': shape [${shape}] does not match ${data.length} elements`,
      );
    }
    header[name] = {
      dtype: dtypeOf(data),
      shape,
      data_offsets: [offset, offset + data.byteLength],
    };
    offset += data.byteLength;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(padded - json.length));
  }
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let p = 8 + json.length;
  for (const name of names) {
    const { data } = tensors[name];
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), p);
    p += data.byteLength;
  }
  return out;
}

export async function writeSafetensors(
  path: string,
  tensors: Record<string, TensorToWrite>,
  metadata?: Record<string, string>,
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}
