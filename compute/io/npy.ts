/**
 * NPY format (numpy's `.npy`, versions 1.0, 2.0 and 3.0): decode to C-order, host-endian arrays and
 * encode little-endian C-order version 1.0 files (2.0 only when the header needs it), so numpy reads
 * what we write and we read what numpy writes.
 */
import { writeFileAtomic } from "./atomic.ts";
import { EegSaeError } from "../util/errors.ts";

/** numpy dtype kinds we handle; "U" is numpy unicode (`<U{n}`), decoded to `string[]`. */
export type NpyDtype =
  | "f4"
  | "f8"
  | "f2"
  | "i1"
  | "i2"
  | "i4"
  | "i8"
  | "u1"
  | "u2"
  | "u4"
  | "b1"
  | "U";

export type NdData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | string[];

/** An n-dimensional array in C order. "f2" holds its values widened to Float32Array; "b1" holds 0/1 bytes. */
export interface NdArray {
  dtype: NpyDtype;
  shape: number[];
  data: NdData;
}

export class NpyError extends EegSaeError {
  constructor(name: string, message: string, options?: ErrorOptions) {
    super(`${name}: ${message}`, options);
  }
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const HEADER_ALIGN = 64;

/** Number of elements of a shape; [] (a numpy scalar) has one. */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

function checkShape(name: string, shape: readonly number[], length: number): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new NpyError(
        name,
        `shape [${shape}] has a dimension that is not a non-negative integer`,
      );
    }
  }
  if (numel(shape) !== length) {
    throw new NpyError(
      name,
      `shape [${shape}] needs ${numel(shape)} elements but data has ${length}`,
    );
  }
}

export function f32(data: Float32Array, shape: number[] = [data.length]): NdArray {
  checkShape("f32", shape, data.length);
  return { dtype: "f4", shape, data };
}

/** A float16 (`<f2`) array of `data`'s values, rounded to nearest even when encoded. */
export function f16(data: Float32Array, shape: number[] = [data.length]): NdArray {
  checkShape("f16", shape, data.length);
  return { dtype: "f2", shape, data };
}

export function i32(data: Int32Array | number[], shape: number[] = [data.length]): NdArray {
  const typed = data instanceof Int32Array ? data : Int32Array.from(data);
  checkShape("i32", shape, typed.length);
  return { dtype: "i4", shape, data: typed };
}

export function i64(data: BigInt64Array | number[], shape: number[] = [data.length]): NdArray {
  const typed = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  checkShape("i64", shape, typed.length);
  return { dtype: "i8", shape, data: typed };
}

export function str(strings: string[], shape: number[] = [strings.length]): NdArray {
  checkShape("str", shape, strings.length);
  return { dtype: "U", shape, data: strings };
}

/** Converts any numeric array to Float32Array (returns f4 data itself, without a copy). */
export function asFloat32(a: NdArray, what: string): Float32Array {
  const d = a.data;
  if (Array.isArray(d)) {
    throw new NpyError(what, `expected a numeric array, got numpy unicode strings (dtype U)`);
  }
  if (d instanceof Float32Array) return d;
  if (d instanceof BigInt64Array) return Float32Array.from(d, (v) => Number(v));
  return Float32Array.from(d);
}

// ---- dtype descriptors ----

interface DtypeInfo {
  dtype: NpyDtype;
  itemsize: number;
  bigEndian: boolean;
  /** Characters per element for "U" (itemsize = 4 * chars). */
  chars: number;
}

const FIXED_SIZES: Record<Exclude<NpyDtype, "U">, number> = {
  f4: 4,
  f8: 8,
  f2: 2,
  i1: 1,
  i2: 2,
  i4: 4,
  i8: 8,
  u1: 1,
  u2: 2,
  u4: 4,
  b1: 1,
};

function parseDescr(name: string, descr: unknown): DtypeInfo {
  if (typeof descr !== "string") {
    throw new NpyError(
      name,
      `unsupported dtype ${JSON.stringify(descr)} (structured arrays are not supported)`,
    );
  }
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) throw new NpyError(name, `unsupported dtype '${descr}'`);
  const [, order, kind, size] = m;
  const bigEndian = order === ">";
  if (kind === "U") {
    const chars = Number(size);
    if (!Number.isSafeInteger(chars) || size === "") {
      throw new NpyError(name, `unsupported dtype '${descr}' (unicode needs a length)`);
    }
    return { dtype: "U", itemsize: 4 * chars, bigEndian, chars };
  }
  if (kind === "O") {
    throw new NpyError(
      name,
      `unsupported dtype '${descr}' (object arrays need pickle; save plain arrays)`,
    );
  }
  const key = `${kind}${size}`;
  if (!(key in FIXED_SIZES)) throw new NpyError(name, `unsupported dtype '${descr}'`);
  const dtype = key as Exclude<NpyDtype, "U">;
  return { dtype, itemsize: FIXED_SIZES[dtype], bigEndian, chars: 0 };
}

// ---- header: a Python dict literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } ----

type PyValue = string | number | boolean | null | PyValue[] | { [key: string]: PyValue };

class PyLiteralParser {
  private pos = 0;
  constructor(private readonly text: string, private readonly name: string) {}

  parseAll(): PyValue {
    const v = this.value();
    this.skipSpace();
    if (this.pos !== this.text.length) this.fail("unexpected text after the header dict");
    return v;
  }

  private fail(what: string): never {
    throw new NpyError(
      this.name,
      `bad header ${JSON.stringify(this.text)}: ${what} at offset ${this.pos}`,
    );
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private value(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "{") return this.dict();
    if (c === "(") return this.sequence(")");
    if (c === "[") return this.sequence("]");
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.pos));
    if (!word) this.fail("expected a value");
    this.pos += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    return Number(word[0].replace("L", ""));
  }

  private string(): string {
    const quote = this.text[this.pos++];
    const end = this.text.indexOf(quote, this.pos);
    if (end < 0) this.fail("unterminated string");
    const s = this.text.slice(this.pos, end);
    this.pos = end + 1;
    return s;
  }

  private sequence(close: string): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected ',' or '${close}'`);
    }
  }

  private dict(): { [key: string]: PyValue } {
    this.pos++;
    const out: { [key: string]: PyValue } = {};
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "}") {
        this.pos++;
        return out;
      }
      const key = this.value();
      if (typeof key !== "string") this.fail("expected a string key");
      this.skipSpace();
      if (this.text[this.pos++] !== ":") this.fail("expected ':'");
      out[key] = this.value();
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "}") this.fail("expected ',' or '}'");
    }
  }
}

interface NpyHeader {
  info: DtypeInfo;
  fortranOrder: boolean;
  shape: number[];
  dataOffset: number;
}

function parseHeader(bytes: Uint8Array, name: string): NpyHeader {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new NpyError(name, "not an NPY file (bad magic; expected \\x93NUMPY)");
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new NpyError(name, "truncated NPY header");
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new NpyError(
      name,
      `unsupported NPY version ${major}.${bytes[7]} (expected 1.0, 2.0 or 3.0)`,
    );
  }
  const dataOffset = headerStart + headerLen;
  if (dataOffset > bytes.length) {
    throw new NpyError(
      name,
      `truncated NPY header: needs ${dataOffset} bytes, file has ${bytes.length}`,
    );
  }
  // Versions 1 and 2 are latin1; version 3 is utf-8.
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(headerStart, dataOffset),
  );
  const dict = new PyLiteralParser(text.trim(), name).parseAll();
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) {
    throw new NpyError(name, `bad header ${JSON.stringify(text)}: expected a dict`);
  }
  const { descr, fortran_order: fortranOrder, shape } = dict;
  if (typeof fortranOrder !== "boolean") {
    throw new NpyError(
      name,
      `bad header ${JSON.stringify(text)}: 'fortran_order' must be True or False`,
    );
  }
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && d >= 0)) {
    throw new NpyError(
      name,
      `bad header ${JSON.stringify(text)}: 'shape' must be a tuple of sizes`,
    );
  }
  return { info: parseDescr(name, descr), fortranOrder, shape: shape as number[], dataOffset };
}

// ---- decoding ----

/** Reorders elements from Fortran (column-major) to C (row-major) order, moving whole items. */
export function fortranToC(
  src: Uint8Array,
  shape: readonly number[],
  itemsize: number,
): Uint8Array<ArrayBuffer> {
  const n = numel(shape);
  const ndim = shape.length;
  const out = new Uint8Array(src.length);
  const fStrides = new Array<number>(ndim);
  let s = 1;
  for (let k = 0; k < ndim; k++) {
    fStrides[k] = s;
    s *= shape[k];
  }
  const idx = new Array<number>(ndim).fill(0);
  let fOffset = 0;
  for (let c = 0; c < n; c++) {
    out.set(src.subarray(fOffset * itemsize, (fOffset + 1) * itemsize), c * itemsize);
    // Odometer over the C-order index, last axis fastest.
    for (let k = ndim - 1; k >= 0; k--) {
      idx[k]++;
      fOffset += fStrides[k];
      if (idx[k] < shape[k]) break;
      fOffset -= fStrides[k] * shape[k];
      idx[k] = 0;
    }
  }
  return out;
}

/** Reverses each `wordSize`-byte item in place (big-endian ↔ little-endian). */
export function swapBytes(buf: Uint8Array, wordSize: number): void {
  for (let i = 0; i < buf.length; i += wordSize) {
    for (let a = i, b = i + wordSize - 1; a < b; a++, b--) {
      const t = buf[a];
      buf[a] = buf[b];
      buf[b] = t;
    }
  }
}

function decodeUnicode(raw: Uint8Array, count: number, chars: number, name: string): string[] {
  const codes = new Uint32Array(raw.buffer, raw.byteOffset, count * chars);
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) {
    let end = (i + 1) * chars;
    const start = i * chars;
    while (end > start && codes[end - 1] === 0) end--; // numpy pads with NULs
    const item = codes.subarray(start, end);
    for (const cp of item) {
      if (cp > 0x10ffff) {
        throw new NpyError(name, `invalid unicode code point ${cp} in element ${i}`);
      }
    }
    let s = "";
    for (let j = 0; j < item.length; j += 8192) {
      s += String.fromCodePoint(...item.subarray(j, j + 8192));
    }
    out[i] = s;
  }
  return out;
}

/** The first `n` items of native little-endian `buf` as `dtype`'s data (f2 widened to f32). */
export function typedView(dtype: Exclude<NpyDtype, "U">, buf: ArrayBuffer, n: number): NdData {
  switch (dtype) {
    case "f4":
      return new Float32Array(buf, 0, n);
    case "f8":
      return new Float64Array(buf, 0, n);
    case "f2":
      return new Float32Array(new Float16Array(buf, 0, n));
    case "i1":
      return new Int8Array(buf, 0, n);
    case "i2":
      return new Int16Array(buf, 0, n);
    case "i4":
      return new Int32Array(buf, 0, n);
    case "i8":
      return new BigInt64Array(buf, 0, n);
    case "u1":
    case "b1":
      return new Uint8Array(buf, 0, n);
    case "u2":
      return new Uint16Array(buf, 0, n);
    case "u4":
      return new Uint32Array(buf, 0, n);
  }
}

/** Decodes a whole `.npy` file; `name` (array or file name) prefixes every error message. */
export function decodeNpy(bytes: Uint8Array, name = "array"): NdArray {
  const { info, fortranOrder, shape, dataOffset } = parseHeader(bytes, name);
  const n = numel(shape);
  const nbytes = n * info.itemsize;
  if (bytes.length - dataOffset < nbytes) {
    throw new NpyError(
      name,
      `truncated data: shape [${shape}] of ${info.dtype}${info.dtype === "U" ? info.chars : ""} ` +
        `needs ${nbytes} bytes, only ${bytes.length - dataOffset} present`,
    );
  }
  // Copy into a fresh buffer so typed views are aligned and independent of the caller's bytes.
  let raw = bytes.slice(dataOffset, dataOffset + nbytes);
  if (fortranOrder && shape.length > 1) raw = fortranToC(raw, shape, info.itemsize);
  if (info.bigEndian) swapBytes(raw, info.dtype === "U" ? 4 : info.itemsize);
  const data = info.dtype === "U"
    ? decodeUnicode(raw, n, info.chars, name)
    : typedView(info.dtype, raw.buffer, n);
  return { dtype: info.dtype, shape: [...shape], data };
}

export async function readNpy(path: string): Promise<NdArray> {
  return decodeNpy(await Deno.readFile(path), path);
}

// ---- encoding ----

const DATA_CLASS: Record<Exclude<NpyDtype, "U">, { name: string; is: (d: NdData) => boolean }> = {
  f4: { name: "Float32Array", is: (d) => d instanceof Float32Array },
  f8: { name: "Float64Array", is: (d) => d instanceof Float64Array },
  f2: { name: "Float32Array", is: (d) => d instanceof Float32Array },
  i1: { name: "Int8Array", is: (d) => d instanceof Int8Array },
  i2: { name: "Int16Array", is: (d) => d instanceof Int16Array },
  i4: { name: "Int32Array", is: (d) => d instanceof Int32Array },
  i8: { name: "BigInt64Array", is: (d) => d instanceof BigInt64Array },
  u1: { name: "Uint8Array", is: (d) => d instanceof Uint8Array },
  u2: { name: "Uint16Array", is: (d) => d instanceof Uint16Array },
  u4: { name: "Uint32Array", is: (d) => d instanceof Uint32Array },
  b1: { name: "Uint8Array", is: (d) => d instanceof Uint8Array },
};

function encodeUnicode(strings: string[]): { descr: string; body: Uint8Array } {
  const points = strings.map((s) => Array.from(s, (ch) => ch.codePointAt(0)!));
  const chars = Math.max(1, ...points.map((p) => p.length));
  const codes = new Uint32Array(strings.length * chars);
  points.forEach((p, i) => codes.set(p, i * chars));
  return { descr: `<U${chars}`, body: new Uint8Array(codes.buffer) };
}

function encodeBody(a: NdArray, name: string): { descr: string; body: Uint8Array } {
  if (a.dtype === "U") {
    if (!Array.isArray(a.data)) throw new NpyError(name, "dtype U needs string[] data");
    return encodeUnicode(a.data);
  }
  const expected = DATA_CLASS[a.dtype];
  if (!expected) throw new NpyError(name, `unsupported dtype '${a.dtype}'`);
  if (!expected.is(a.data) || Array.isArray(a.data)) {
    throw new NpyError(
      name,
      `dtype ${a.dtype} needs ${expected.name} data, got ${a.data.constructor.name}`,
    );
  }
  const typed = a.dtype === "f2" ? new Float16Array(a.data as Float32Array) : a.data;
  const body = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  const order = FIXED_SIZES[a.dtype] === 1 ? "|" : "<";
  return { descr: `${order}${a.dtype}`, body };
}

/** Encodes as numpy does: little-endian, C order, header padded so data starts on a 64-byte boundary. */
export function encodeNpy(a: NdArray, name = "array"): Uint8Array {
  checkShape(name, a.shape, a.data.length);
  const { descr, body } = encodeBody(a, name);
  const shapeText = a.shape.length === 1 ? `(${a.shape[0]},)` : `(${a.shape.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  // Header text = dict + spaces + "\n", sized so magic + length field + header is a multiple of 64.
  const paddedHeader = (prefix: number) => {
    const spaces = (HEADER_ALIGN - ((prefix + dict.length + 1) % HEADER_ALIGN)) % HEADER_ALIGN;
    return dict + " ".repeat(spaces) + "\n";
  };
  // Version 1.0 stores the header length in 2 bytes; 2.0 (4 bytes) only when that is too small.
  const major = paddedHeader(10).length > 0xffff ? 2 : 1;
  const prefix = major === 1 ? 10 : 12;
  const header = paddedHeader(prefix);
  const out = new Uint8Array(prefix + header.length + body.length);
  out.set(MAGIC, 0);
  out[6] = major;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(body, prefix + header.length);
  return out;
}

export async function writeNpy(path: string, a: NdArray): Promise<void> {
  await writeFileAtomic(path, encodeNpy(a, path));
}
