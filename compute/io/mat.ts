/**
 * A reader for MATLAB MAT-files, level 5 (what `save` writes by default up to -v7, compressed or
 * not, either byte order; also Octave's `-v6`/`-v7` and SciPy's `savemat`): BCIC2a's evaluation
 * labels (`A01E.mat`, `classlabel`) and the BNCI archive's recordings (a cell of run structs).
 * Numeric arrays of every class (double, single, int8–64, uint8–64, logical) are read as float64
 * in MATLAB's column-major order; char arrays as text; cells, structs and struct arrays as trees
 * of values, nested to any depth. Sparse arrays and objects are named but not decoded; v7.3 files
 * (HDF5) are refused with a message saying so.
 */
import { unzlibSync } from "fflate";
import { EegSaeError } from "../util/errors.ts";

export class MatError extends EegSaeError {
  constructor(file: string, message: string, options?: ErrorOptions) {
    super(`${file}: ${message}`, options);
  }
}

/** A numeric MATLAB array: its class name, dimensions and values in column-major order. */
export interface MatArray {
  name: string;
  /** "double", "single", "int8", ..., "uint64", or "logical". */
  className: string;
  dims: number[];
  data: Float64Array;
}

/** A decoded MATLAB value; arrays of every kind keep MATLAB's column-major element order. */
export type MatValue =
  | ({ kind: "numeric" } & MatArray)
  | { kind: "char"; dims: number[]; text: string }
  | { kind: "cell"; dims: number[]; cells: MatValue[] }
  | { kind: "struct"; dims: number[]; fields: string[]; elements: Map<string, MatValue>[] }
  | { kind: "other"; dims: number[]; className: string };

export interface MatFile {
  /** Every variable by name, decoded. */
  variables: Map<string, MatValue>;
  /** The numeric (real) variables by name. */
  arrays: Map<string, MatArray>;
  /** The other variables (cell, struct, char, sparse, complex, object), by name and kind. */
  skipped: Map<string, string>;
}

// Data element types (MAT-File Format, Table 1-1).
const MI_INT8 = 1;
const MI_UINT8 = 2;
const MI_INT16 = 3;
const MI_UINT16 = 4;
const MI_INT32 = 5;
const MI_UINT32 = 6;
const MI_SINGLE = 7;
const MI_DOUBLE = 9;
const MI_INT64 = 12;
const MI_UINT64 = 13;
const MI_MATRIX = 14;
const MI_COMPRESSED = 15;
const MI_UTF8 = 16;
const MI_UTF16 = 17;

/** Array classes (Table 1-3); 6..15 are the numeric ones. */
const CLASS_NAMES: Record<number, string> = {
  1: "cell",
  2: "struct",
  3: "object",
  4: "char",
  5: "sparse",
  6: "double",
  7: "single",
  8: "int8",
  9: "uint8",
  10: "int16",
  11: "uint16",
  12: "int32",
  13: "uint32",
  14: "int64",
  15: "uint64",
};
const CLASS_CELL = 1;
const CLASS_STRUCT = 2;
const CLASS_CHAR = 4;
const FLAG_COMPLEX = 0x0800;
const FLAG_LOGICAL = 0x0200;

interface Element {
  type: number;
  bytes: Uint8Array;
}

/** Reads the data elements of `buf` in order (a tag, its data, padding to 8 bytes). */
class ElementReader {
  #pos = 0;
  constructor(
    readonly buf: Uint8Array,
    readonly littleEndian: boolean,
    readonly file: string,
  ) {}

  get done(): boolean {
    return this.#pos >= this.buf.length;
  }

  next(): Element {
    const view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    if (this.#pos + 8 > this.buf.length) {
      throw new MatError(this.file, `truncated data element tag at byte ${this.#pos}`);
    }
    const first = view.getUint32(this.#pos, this.littleEndian);
    // Small data element: type in the low 16 bits, size in the high 16, data in the next 4 bytes.
    if (first >>> 16 !== 0) {
      const size = first >>> 16;
      if (size > 4) throw new MatError(this.file, `small data element of ${size} bytes (max 4)`);
      const bytes = this.buf.subarray(this.#pos + 4, this.#pos + 4 + size);
      this.#pos += 8;
      return { type: first & 0xffff, bytes };
    }
    const size = view.getUint32(this.#pos + 4, this.littleEndian);
    const start = this.#pos + 8;
    if (start + size > this.buf.length) {
      throw new MatError(
        this.file,
        `data element of type ${first} at byte ${this.#pos} claims ${size} bytes, ` +
          `${this.buf.length - start} remain`,
      );
    }
    // Compressed elements are not padded; all others are to a multiple of 8 bytes.
    this.#pos = first === MI_COMPRESSED ? start + size : start + Math.ceil(size / 8) * 8;
    return { type: first, bytes: this.buf.subarray(start, start + size) };
  }
}

/** Parses a MAT-file (level 5) held in memory; `file` names it in errors. */
export function parseMat(buf: Uint8Array, file: string): MatFile {
  if (buf.length < 128) throw new MatError(file, "shorter than the 128-byte MAT-file header");
  const text = new TextDecoder("latin1").decode(buf.subarray(0, 116));
  if (text.startsWith("MATLAB 7.3") || (buf[0] === 0x89 && text.includes("HDF"))) {
    throw new MatError(file, "is a v7.3 (HDF5) MAT-file; save it with -v7 or earlier to read it");
  }
  const endian = String.fromCharCode(buf[126], buf[127]);
  if (endian !== "IM" && endian !== "MI") {
    throw new MatError(file, `header endian indicator is "${endian}", expected "IM" or "MI"`);
  }
  const littleEndian = endian === "IM";
  const out: MatFile = { variables: new Map(), arrays: new Map(), skipped: new Map() };
  const reader = new ElementReader(buf.subarray(128), littleEndian, file);
  while (!reader.done) {
    let element = reader.next();
    if (element.type === MI_COMPRESSED) {
      let inflated: Uint8Array;
      try {
        inflated = unzlibSync(element.bytes);
      } catch (e) {
        throw new MatError(file, `cannot inflate a compressed variable: ${(e as Error).message}`, {
          cause: e,
        });
      }
      element = new ElementReader(inflated, littleEndian, file).next();
    }
    if (element.type !== MI_MATRIX) continue;
    const { name, value } = readMatrix(element.bytes, littleEndian, file);
    out.variables.set(name, value);
    if (value.kind === "numeric") out.arrays.set(name, value);
    else {
      out.skipped.set(name, value.kind === "other" ? value.className : value.kind);
    }
  }
  return out;
}

/** Reads a MAT-file from disk. */
export async function readMat(path: string): Promise<MatFile> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new MatError(path, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  return parseMat(bytes, path);
}

function readMatrix(
  bytes: Uint8Array,
  littleEndian: boolean,
  file: string,
): { name: string; value: MatValue } {
  // An empty array: MATLAB writes a bare tag.
  if (bytes.length === 0) {
    return {
      name: "",
      value: {
        kind: "numeric",
        name: "",
        className: "double",
        dims: [0, 0],
        data: new Float64Array(),
      },
    };
  }
  const sub = new ElementReader(bytes, littleEndian, file);
  const flagsEl = sub.next();
  if (flagsEl.type !== MI_UINT32 || flagsEl.bytes.length < 8) {
    throw new MatError(file, "matrix without its array-flags subelement");
  }
  const flags = new DataView(flagsEl.bytes.buffer, flagsEl.bytes.byteOffset, 8)
    .getUint32(0, littleEndian);
  const classId = flags & 0xff;
  const dimsEl = sub.next();
  if (dimsEl.type !== MI_INT32) throw new MatError(file, "matrix without its dimensions");
  const dims = [...numbers(dimsEl, littleEndian, file)];
  const nameEl = sub.next();
  if (nameEl.type !== MI_INT8) throw new MatError(file, "matrix without its name");
  const name = new TextDecoder().decode(nameEl.bytes);
  const at = name === "" ? "an element" : `variable "${name}"`;
  const className = CLASS_NAMES[classId] ?? `class ${classId}`;
  const count = dims.reduce((a, b) => a * b, 1);
  const nested = () => {
    if (sub.done) throw new MatError(file, `${at}: truncated, fewer elements than its dimensions`);
    const el = sub.next();
    if (el.type !== MI_MATRIX) {
      throw new MatError(file, `${at}: element of type ${el.type} where a matrix was expected`);
    }
    return readMatrix(el.bytes, littleEndian, file).value;
  };
  if (classId === CLASS_CELL) {
    return { name, value: { kind: "cell", dims, cells: Array.from({ length: count }, nested) } };
  }
  if (classId === CLASS_STRUCT) {
    const lengthEl = sub.next();
    const width = numbers(lengthEl, littleEndian, file)[0];
    const namesEl = sub.next();
    if (!(width > 0) || namesEl.bytes.length % width !== 0) {
      throw new MatError(
        file,
        `${at}: field names of ${namesEl.bytes.length} bytes, width ${width}`,
      );
    }
    const fields = Array.from(
      { length: namesEl.bytes.length / width },
      (_, f) => cString(namesEl.bytes.subarray(f * width, (f + 1) * width)),
    );
    const elements = Array.from({ length: count }, () => {
      const m = new Map<string, MatValue>();
      for (const f of fields) m.set(f, nested());
      return m;
    });
    return { name, value: { kind: "struct", dims, fields, elements } };
  }
  if (classId === CLASS_CHAR) {
    const codes = sub.done ? new Float64Array() : numbers(sub.next(), littleEndian, file);
    if (codes.length !== count && !(codes.length === 0 && count === 0)) {
      throw new MatError(file, `${at}: dimensions [${dims}] but ${codes.length} characters`);
    }
    let text = "";
    for (const c of codes) text += String.fromCharCode(c);
    return { name, value: { kind: "char", dims, text } };
  }
  if (classId < 6 || classId > 15 || flags & FLAG_COMPLEX) {
    return {
      name,
      value: {
        kind: "other",
        dims,
        className: flags & FLAG_COMPLEX ? `complex ${className}` : className,
      },
    };
  }
  if (sub.done) throw new MatError(file, `${at}: no data after its name`);
  const data = numbers(sub.next(), littleEndian, file);
  if (data.length !== count) {
    throw new MatError(
      file,
      `${at} has dimensions [${dims}] (${count} values) but ${data.length} values`,
    );
  }
  return {
    name,
    value: {
      kind: "numeric",
      name,
      className: flags & FLAG_LOGICAL ? "logical" : className,
      dims,
      data,
    },
  };
}

function cString(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** The values of a numeric data element as float64. */
function numbers(el: Element, le: boolean, file: string): Float64Array {
  const view = new DataView(el.bytes.buffer, el.bytes.byteOffset, el.bytes.byteLength);
  const read: Record<number, [number, (o: number) => number]> = {
    [MI_INT8]: [1, (o) => view.getInt8(o)],
    [MI_UINT8]: [1, (o) => view.getUint8(o)],
    [MI_INT16]: [2, (o) => view.getInt16(o, le)],
    [MI_UINT16]: [2, (o) => view.getUint16(o, le)],
    [MI_INT32]: [4, (o) => view.getInt32(o, le)],
    [MI_UINT32]: [4, (o) => view.getUint32(o, le)],
    [MI_SINGLE]: [4, (o) => view.getFloat32(o, le)],
    [MI_DOUBLE]: [8, (o) => view.getFloat64(o, le)],
    [MI_INT64]: [8, (o) => Number(view.getBigInt64(o, le))],
    [MI_UINT64]: [8, (o) => Number(view.getBigUint64(o, le))],
    [MI_UTF8]: [1, (o) => view.getUint8(o)],
    [MI_UTF16]: [2, (o) => view.getUint16(o, le)],
  };
  const entry = read[el.type];
  if (!entry) throw new MatError(file, `numeric data of element type ${el.type} is not supported`);
  const [size, get] = entry;
  if (el.bytes.length % size !== 0) {
    throw new MatError(file, `${el.bytes.length} bytes is not a whole number of values`);
  }
  const out = new Float64Array(el.bytes.length / size);
  for (let i = 0; i < out.length; i++) out[i] = get(i * size);
  return out;
}
