/**
 * A minimal Python pickle encoder: what our LMDB writer needs (dicts, lists, str, int, float,
 * bytes, numpy arrays) as protocol 4, with arrays in numpy's own protocol-4 form, so Python
 * unpickles them to real `numpy.ndarray`s. pickle_decode.ts reads them back.
 */
import type { NdArray, NpyDtype } from "./npy.ts";
import { isNdArray, PickleError } from "./pickle_decode.ts";

/** What `encodePickle` writes. Integral JS numbers become Python ints, others floats. */
export type PickleEncodable =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | NdArray
  | PickleEncodable[]
  | Map<string | number, PickleEncodable>
  | { [key: string]: PickleEncodable };

const ENCODE_DTYPES: Partial<Record<NpyDtype, number>> = {
  f4: 4,
  f8: 8,
  i2: 2,
  i4: 4,
  i8: 8,
  u1: 1,
};

/** Encodes a value as a protocol-4 pickle (no frames, no memo: both are optional for readers). */
export function encodePickle(value: PickleEncodable): Uint8Array {
  const w = new ByteWriter();
  w.bytes([0x80, 4]);
  encodeValue(w, value);
  w.byte(0x2e);
  return w.result();
}

function encodeValue(w: ByteWriter, v: PickleEncodable): void {
  if (v === null) w.byte(0x4e);
  else if (v === true) w.byte(0x88);
  else if (v === false) w.byte(0x89);
  else if (typeof v === "bigint") encodeInt(w, v);
  else if (typeof v === "number") {
    if (Number.isSafeInteger(v)) encodeInt(w, BigInt(v));
    else {
      w.byte(0x47);
      w.f64be(v);
    }
  } else if (typeof v === "string") encodeStr(w, v);
  else if (v instanceof Uint8Array) encodeBytes(w, v);
  else if (Array.isArray(v)) {
    w.byte(0x5d); // EMPTY_LIST
    if (v.length) {
      w.byte(0x28);
      for (const x of v) encodeValue(w, x);
      w.byte(0x65); // APPENDS
    }
  } else if (isNdArray(v)) encodeNdArray(w, v);
  else {
    const entries: [string | number, PickleEncodable][] = v instanceof Map
      ? [...v.entries()]
      : Object.entries(v);
    w.byte(0x7d); // EMPTY_DICT
    if (entries.length) {
      w.byte(0x28);
      for (const [k, x] of entries) {
        encodeValue(w, k);
        encodeValue(w, x);
      }
      w.byte(0x75); // SETITEMS
    }
  }
}

function encodeInt(w: ByteWriter, v: bigint): void {
  if (v >= 0n && v < 256n) w.bytes([0x4b, Number(v)]);
  else if (v >= 0n && v < 65536n) {
    w.byte(0x4d);
    w.u16(Number(v));
  } else if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    w.byte(0x4a);
    w.i32(Number(v));
  } else {
    const out: number[] = [];
    let x = v;
    // Minimal two's-complement little-endian bytes, as Python's LONG1 expects.
    for (;;) {
      out.push(Number(x & 0xffn));
      x >>= 8n;
      const top = out[out.length - 1] & 0x80;
      if ((x === 0n && !top) || (x === -1n && top)) break;
    }
    w.bytes([0x8a, out.length, ...out]);
  }
}

function encodeStr(w: ByteWriter, s: string): void {
  const b = new TextEncoder().encode(s);
  if (b.length < 256) w.bytes([0x8c, b.length]);
  else {
    w.byte(0x58);
    w.u32(b.length);
  }
  w.bytes(b);
}

function encodeBytes(w: ByteWriter, b: Uint8Array): void {
  if (b.length < 256) w.bytes([0x43, b.length]);
  else {
    w.byte(0x42);
    w.u32(b.length);
  }
  w.bytes(b);
}

function encodeTuple(w: ByteWriter, items: number[]): void {
  if (items.length === 0) w.byte(0x29);
  else if (items.length <= 3) {
    for (const x of items) encodeInt(w, BigInt(x));
    w.byte(0x84 + items.length);
  } else {
    w.byte(0x28);
    for (const x of items) encodeInt(w, BigInt(x));
    w.byte(0x74);
  }
}

/** numpy's protocol-4 form: `_reconstruct(ndarray, (0,), b'b')` then `__setstate__`. */
function encodeNdArray(w: ByteWriter, a: NdArray): void {
  const size = ENCODE_DTYPES[a.dtype];
  if (size === undefined || Array.isArray(a.data) || a.data.BYTES_PER_ELEMENT !== size) {
    throw new PickleError(`cannot pickle a numpy array of dtype ${a.dtype}`);
  }
  const count = a.shape.reduce((x, y) => x * y, 1);
  if (a.data.length !== count) {
    throw new PickleError(`array shape [${a.shape}] does not match ${a.data.length} elements`);
  }
  const global = (module: string, name: string) => {
    encodeStr(w, module);
    encodeStr(w, name);
    w.byte(0x93);
  };
  global("numpy.core.multiarray", "_reconstruct");
  global("numpy", "ndarray");
  encodeTuple(w, [0]);
  encodeBytes(w, new Uint8Array([0x62])); // b'b'
  w.bytes([0x87, 0x52]); // TUPLE3 REDUCE
  w.byte(0x28); // MARK of the state tuple
  encodeInt(w, 1n);
  encodeTuple(w, a.shape);
  global("numpy", "dtype");
  encodeStr(w, a.dtype);
  w.bytes([0x89, 0x88, 0x87, 0x52]); // False True TUPLE3 REDUCE
  w.byte(0x28);
  encodeInt(w, 3n);
  encodeStr(w, size === 1 ? "|" : "<");
  w.bytes([0x4e, 0x4e, 0x4e]);
  encodeInt(w, -1n);
  encodeInt(w, -1n);
  encodeInt(w, 0n);
  w.bytes([0x74, 0x62]); // TUPLE BUILD (dtype state)
  w.byte(0x89); // is_fortran False
  const d = a.data;
  encodeBytes(w, new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  w.bytes([0x74, 0x62]); // TUPLE BUILD (array state)
}

class ByteWriter {
  #buf = new Uint8Array(1024);
  #len = 0;
  #view = new DataView(this.#buf.buffer);

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let cap = this.#buf.length * 2;
    while (cap < this.#len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }
  byte(b: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = b;
  }
  bytes(b: ArrayLike<number>): void {
    this.#reserve(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }
  /** Appends a `size`-byte number that `write` puts at the given offset. */
  #number(size: number, write: (view: DataView, at: number) => void): void {
    this.#reserve(size);
    write(this.#view, this.#len);
    this.#len += size;
  }
  u16(v: number): void {
    this.#number(2, (view, at) => view.setUint16(at, v, true));
  }
  u32(v: number): void {
    this.#number(4, (view, at) => view.setUint32(at, v, true));
  }
  i32(v: number): void {
    this.#number(4, (view, at) => view.setInt32(at, v, true));
  }
  f64be(v: number): void {
    this.#number(8, (view, at) => view.setFloat64(at, v, false));
  }
  result(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}
