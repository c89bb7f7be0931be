/**
 * A safe Python pickle decoder (protocols 2–5); pickle_encode.ts is the matching minimal encoder.
 *
 * The decoder executes nothing: it builds plain values (None, bool, int, float, str, bytes, list,
 * tuple, dict) and numpy arrays/scalars as numpy pickles them (`_reconstruct` + `__setstate__`,
 * protocol-5 `_frombuffer` with an in-band buffer, `numpy.dtype`, `multiarray.scalar`), under
 * both `numpy.core` and `numpy._core`. Any other opcode or global is an error naming it and the
 * byte offset. Arrays come back in C order and native byte order as `NdArray` (see npy.ts).
 *
 * PyTorch checkpoints need three more things, each only when the caller asks (torch_checkpoint.ts):
 * persistent ids (tensor storages kept outside the pickle) handed to `persistentLoad`; named
 * globals rebuilt by the caller's own functions (`calls`, e.g. a tensor from its storage); and
 * `records`, where any other class becomes a `PickleObject` holding its name, arguments and state,
 * so a checkpoint's config object of an unknown class is read as data and never executed.
 */
import { fortranToC, type NdArray, type NpyDtype, swapBytes, typedView } from "./npy.ts";
import { EegSaeError } from "../util/errors.ts";

export class PickleError extends EegSaeError {
  constructor(message: string, readonly offset?: number) {
    super(offset === undefined ? message : `${message} at byte ${offset}`);
  }
}

/** A Python tuple (kept apart from lists so round trips and error messages stay precise). */
export class PickleTuple {
  constructor(readonly items: PickleValue[]) {}
}

/** An instance of a class this decoder does not know, as data: never constructed or called. */
export class PickleObject {
  constructor(
    /** `module.Name` of its class (or of a global referenced as a value, e.g. `torch.float32`). */
    readonly className: string,
    readonly args: PickleValue[],
    /** What `__setstate__` would have received (usually the instance's `__dict__`). */
    public state?: PickleValue,
  ) {}
}

/** Extensions for PyTorch checkpoints; a plain decode uses none. */
export interface DecodeOptions {
  /** Resolves a persistent id (PERSID/BINPERSID), e.g. a tensor storage in a zip checkpoint. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
  /** Globals (`module.name`) rebuilt by these functions from their REDUCE arguments. */
  calls?: Readonly<Record<string, (args: PickleValue[]) => PickleValue>>;
  /** Any other class becomes a PickleObject instead of an error. */
  records?: boolean;
}

export type PickleKey = string | number | bigint | boolean | null;
export type PickleDict = Map<PickleKey, PickleValue>;
/** Python int → number when it is a safe integer, else bigint; numpy scalars → number/bigint. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleTuple
  | PickleDict
  | PickleObject
  | NdArray;

export function isNdArray(v: unknown): v is NdArray {
  return typeof v === "object" && v !== null && !(v instanceof Map) && !Array.isArray(v) &&
    !(v instanceof PickleTuple) && !(v instanceof Uint8Array) && !(v instanceof PickleObject) &&
    "dtype" in v && "shape" in v &&
    "data" in v;
}

/** A numpy dtype under construction: `numpy.dtype(code)` then `__setstate__` sets the order. */
class NumpyDType {
  order = "|";
  constructor(readonly code: string) {}
}
/** `_reconstruct(ndarray, (0,), b'b')`: an empty array waiting for its `__setstate__`. */
class PendingArray {}
class Global {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
const MARK = Symbol("mark");
type StackItem = PickleValue | NumpyDType | PendingArray | Global | typeof MARK;

const NUMPY_MODULES = new Set(["numpy.core.multiarray", "numpy._core.multiarray"]);
const NUMERIC_MODULES = new Set(["numpy.core.numeric", "numpy._core.numeric"]);

function allowedGlobal(module: string, name: string): boolean {
  if (NUMPY_MODULES.has(module)) return name === "_reconstruct" || name === "scalar";
  if (NUMERIC_MODULES.has(module)) return name === "_frombuffer";
  if (module === "numpy") return name === "ndarray" || name === "dtype";
  return module === "_codecs" && name === "encode";
}

const textDecoder = new TextDecoder("utf-8", { fatal: true });

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

/** Decodes one pickle. `what` names the source (a file or an LMDB key) in error messages. */
export function decodePickle(
  bytes: Uint8Array,
  what = "pickle",
  options: DecodeOptions = {},
): PickleValue {
  return decodePickleAt(bytes, 0, what, options).value;
}

/** Decodes the pickle starting at `offset`; `end` is the offset after its STOP (files may hold several). */
export function decodePickleAt(
  bytes: Uint8Array,
  offset: number,
  what = "pickle",
  options: DecodeOptions = {},
): { value: PickleValue; end: number } {
  try {
    const decoder = new Decoder(bytes, options, offset);
    return { value: decoder.run(), end: decoder.position };
  } catch (e) {
    if (e instanceof PickleError) throw new PickleError(`${what}: ${e.message}`);
    throw e;
  }
}

class Decoder {
  #pos = 0;
  #stack: StackItem[] = [];
  #memo = new Map<number, StackItem>();
  #view: DataView;

  readonly bytes: Uint8Array;

  constructor(input: Uint8Array, readonly options: DecodeOptions = {}, start = 0) {
    // A plain view: Node's Buffer (what npm lmdb returns) has a `slice` that does not copy.
    this.bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    this.#view = new DataView(input.buffer, input.byteOffset, input.byteLength);
    this.#pos = start;
  }

  get #extended(): boolean {
    const o = this.options;
    return Boolean(o.records || o.persistentLoad || o.calls);
  }

  get position(): number {
    return this.#pos;
  }

  run(): PickleValue {
    const b = this.bytes;
    const start = this.#pos;
    if (b.length <= start) throw new PickleError("empty input is not a pickle", start);
    if (b[start] !== 0x80) {
      throw new PickleError(
        `not a binary pickle (protocol 2–5 start with byte 0x80, found 0x${hex(b[start])})`,
        start,
      );
    }
    for (;;) {
      const at = this.#pos;
      const op = this.#u8();
      // Objects and persistent ids stay errors unless the caller asked for a checkpoint's extras.
      if (CHECKPOINT_OPCODES.has(op) && !this.#extended) throw unsupportedOpcode(op, at);
      switch (op) {
        case 0x80: { // PROTO
          const p = this.#u8();
          if (p < 2 || p > 5) throw new PickleError(`unsupported pickle protocol ${p}`, at);
          break;
        }
        case 0x95: // FRAME: frames only group opcodes; the length needs no action here
          this.#take(8);
          break;
        case 0x2e: { // STOP
          const v = this.#pop(at);
          return this.#finish(v, at);
        }
        case 0x28: // MARK
          this.#stack.push(MARK);
          break;
        case 0x30: // POP
          this.#pop(at);
          break;
        case 0x31: // POP_MARK
          this.#popMark(at);
          break;
        case 0x32: // DUP
          this.#push(this.#peek(at));
          break;
        case 0x4e: // NONE
          this.#push(null);
          break;
        case 0x88: // NEWTRUE
          this.#push(true);
          break;
        case 0x89: // NEWFALSE
          this.#push(false);
          break;
        case 0x4a: // BININT
          this.#push(this.#view.getInt32(this.#skip(4), true));
          break;
        case 0x4b: // BININT1
          this.#push(this.#u8());
          break;
        case 0x4d: // BININT2
          this.#push(this.#view.getUint16(this.#skip(2), true));
          break;
        case 0x8a: // LONG1
          this.#push(longFromBytes(this.#take(this.#u8())));
          break;
        case 0x8b: // LONG4
          this.#push(longFromBytes(this.#take(this.#u32(at))));
          break;
        case 0x49: { // INT (text; "01"/"00" are protocol-0 booleans)
          const line = this.#line();
          if (line === "01" || line === "00") this.#push(line === "01");
          else this.#push(parseTextInt(line, at));
          break;
        }
        case 0x4c: // LONG (text)
          this.#push(parseTextInt(this.#line().replace(/L$/, ""), at));
          break;
        case 0x47: // BINFLOAT (big-endian float64)
          this.#push(this.#view.getFloat64(this.#skip(8), false));
          break;
        case 0x46: { // FLOAT (text)
          const line = this.#line();
          const f = Number(line);
          if (line === "" || Number.isNaN(f) && !/nan/i.test(line)) {
            throw new PickleError(`FLOAT opcode holds "${line}", not a number`, at);
          }
          this.#push(f);
          break;
        }
        case 0x58: // BINUNICODE
          this.#push(this.#utf8(this.#take(this.#u32(at)), at));
          break;
        case 0x8c: // SHORT_BINUNICODE
          this.#push(this.#utf8(this.#take(this.#u8()), at));
          break;
        case 0x8d: // BINUNICODE8
          this.#push(this.#utf8(this.#take(this.#u64(at)), at));
          break;
        case 0x54: // BINSTRING (Python 2 str: bytes, read as latin-1 text)
          this.#push(latin1(this.#take(this.#u32(at))));
          break;
        case 0x55: // SHORT_BINSTRING
          this.#push(latin1(this.#take(this.#u8())));
          break;
        case 0x42: // BINBYTES
          this.#push(this.#take(this.#u32(at)).slice());
          break;
        case 0x43: // SHORT_BINBYTES
          this.#push(this.#take(this.#u8()).slice());
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          this.#push(this.#take(this.#u64(at)).slice());
          break;
        case 0x98: // READONLY_BUFFER: marks the buffer on the stack read-only; nothing to do
          this.#peek(at);
          break;
        case 0x97: // NEXT_BUFFER
          throw new PickleError(
            "opcode NEXT_BUFFER (0x97): out-of-band protocol-5 buffers are not stored in the " +
              "pickle and cannot be read; pickle without buffer_callback",
            at,
          );
        case 0x5d: // EMPTY_LIST
          this.#push([]);
          break;
        case 0x6c: // LIST
          this.#push(this.#popMark(at).map((x) => this.#value(x, at)));
          break;
        case 0x61: { // APPEND
          const v = this.#value(this.#pop(at), at);
          this.#list(this.#peek(at), at).push(v);
          break;
        }
        case 0x65: { // APPENDS
          const items = this.#popMark(at).map((x) => this.#value(x, at));
          this.#list(this.#peek(at), at).push(...items);
          break;
        }
        case 0x29: // EMPTY_TUPLE
          this.#push(new PickleTuple([]));
          break;
        case 0x74: // TUPLE (may hold globals and dtypes: REDUCE arguments; checked when used)
          this.#push(this.#tuple(this.#popMark(at), at));
          break;
        case 0x85: // TUPLE1
        case 0x86: // TUPLE2
        case 0x87: { // TUPLE3
          const n = op - 0x84;
          if (this.#stack.length < n) throw new PickleError(`stack underflow in TUPLE${n}`, at);
          this.#push(this.#tuple(this.#stack.splice(this.#stack.length - n, n), at));
          break;
        }
        case 0x7d: // EMPTY_DICT
          this.#push(new Map());
          break;
        case 0x64: { // DICT
          const d: PickleDict = new Map();
          this.#setItems(d, this.#popMark(at), at);
          this.#push(d);
          break;
        }
        case 0x73: { // SETITEM
          const v = this.#pop(at);
          const k = this.#pop(at);
          this.#setItems(this.#dict(this.#peek(at), at), [k, v], at);
          break;
        }
        case 0x75: { // SETITEMS
          const items = this.#popMark(at);
          this.#setItems(this.#dict(this.#peek(at), at), items, at);
          break;
        }
        case 0x63: { // GLOBAL
          const module = this.#line();
          const name = this.#line();
          this.#push(this.#global(module, name, at));
          break;
        }
        case 0x93: { // STACK_GLOBAL
          const name = this.#pop(at);
          const module = this.#pop(at);
          if (typeof module !== "string" || typeof name !== "string") {
            throw new PickleError("STACK_GLOBAL expects two strings", at);
          }
          this.#push(this.#global(module, name, at));
          break;
        }
        case 0x52: { // REDUCE
          const args = this.#pop(at);
          const fn = this.#pop(at);
          if (!(fn instanceof Global)) {
            throw new PickleError("REDUCE on something not callable", at);
          }
          if (!(args instanceof PickleTuple)) throw new PickleError("REDUCE expects a tuple", at);
          this.#push(this.#call(fn, args.items, at));
          break;
        }
        case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
          const args = this.#pop(at);
          const cls = this.#pop(at);
          if (!(args instanceof PickleTuple)) throw new PickleError("NEWOBJ expects a tuple", at);
          this.#push(this.#newObject(cls, args.items, at));
          break;
        }
        case 0x92: { // NEWOBJ_EX: cls.__new__(cls, *args, **kwargs)
          this.#pop(at);
          const args = this.#pop(at);
          const cls = this.#pop(at);
          if (!(args instanceof PickleTuple)) {
            throw new PickleError("NEWOBJ_EX expects a tuple", at);
          }
          this.#push(this.#newObject(cls, args.items, at));
          break;
        }
        case 0x50: // PERSID
          this.#push(this.#persistent(this.#line(), at));
          break;
        case 0x51: // BINPERSID
          this.#push(this.#persistent(this.#value(this.#pop(at), at), at));
          break;
        case 0x62: { // BUILD
          const state = this.#pop(at);
          const obj = this.#pop(at);
          this.#push(this.#build(obj, state, at));
          break;
        }
        case 0x70: // PUT
          this.#memo.set(parseTextIndex(this.#line(), at), this.#peek(at));
          break;
        case 0x71: // BINPUT
          this.#memo.set(this.#u8(), this.#peek(at));
          break;
        case 0x72: // LONG_BINPUT
          this.#memo.set(this.#u32(at), this.#peek(at));
          break;
        case 0x94: // MEMOIZE
          this.#memo.set(this.#memo.size, this.#peek(at));
          break;
        case 0x67: // GET
          this.#push(this.#get(parseTextIndex(this.#line(), at), at));
          break;
        case 0x68: // BINGET
          this.#push(this.#get(this.#u8(), at));
          break;
        case 0x6a: // LONG_BINGET
          this.#push(this.#get(this.#u32(at), at));
          break;
        default:
          throw unsupportedOpcode(op, at);
      }
    }
  }

  // -- byte access -----------------------------------------------------------------------------

  #u8(): number {
    if (this.#pos >= this.bytes.length) {
      throw new PickleError("truncated pickle (no STOP opcode)", this.#pos);
    }
    return this.bytes[this.#pos++];
  }
  #skip(n: number): number {
    const at = this.#pos;
    if (at + n > this.bytes.length) throw new PickleError(`truncated pickle: need ${n} bytes`, at);
    this.#pos += n;
    return at;
  }
  #take(n: number): Uint8Array {
    const at = this.#skip(n);
    return this.bytes.subarray(at, at + n);
  }
  #u32(at: number): number {
    const n = this.#view.getUint32(this.#skip(4), true);
    if (n > this.bytes.length) throw new PickleError(`length ${n} beyond the end of the data`, at);
    return n;
  }
  #u64(at: number): number {
    const n = this.#view.getBigUint64(this.#skip(8), true);
    if (n > BigInt(this.bytes.length)) {
      throw new PickleError(`length ${n} beyond the end of the data`, at);
    }
    return Number(n);
  }
  #line(): string {
    const start = this.#pos;
    const end = this.bytes.indexOf(0x0a, start);
    if (end < 0) throw new PickleError("truncated pickle: missing newline", start);
    this.#pos = end + 1;
    return latin1(this.bytes.subarray(start, end));
  }
  #utf8(b: Uint8Array, at: number): string {
    try {
      return textDecoder.decode(b);
    } catch {
      throw new PickleError("string is not valid UTF-8", at);
    }
  }

  // -- stack -----------------------------------------------------------------------------------

  #push(v: StackItem): void {
    this.#stack.push(v);
  }
  #pop(at: number): StackItem {
    const v = this.#stack.pop();
    if (v === undefined) throw new PickleError("stack underflow", at);
    if (v === MARK) throw new PickleError("unexpected MARK on the stack", at);
    return v;
  }
  #peek(at: number): StackItem {
    const v = this.#stack[this.#stack.length - 1];
    if (v === undefined || v === MARK) throw new PickleError("stack underflow", at);
    return v;
  }
  #popMark(at: number): StackItem[] {
    const i = this.#stack.lastIndexOf(MARK);
    if (i < 0) throw new PickleError("no MARK on the stack", at);
    const items = this.#stack.splice(i);
    items.shift();
    return items;
  }
  #get(index: number, at: number): StackItem {
    const v = this.#memo.get(index);
    if (v === undefined) throw new PickleError(`memo entry ${index} was never stored`, at);
    return v;
  }
  #list(v: StackItem, at: number): PickleValue[] {
    if (!Array.isArray(v)) throw new PickleError("APPEND to something that is not a list", at);
    return v;
  }
  #dict(v: StackItem, at: number): PickleDict {
    if (!(v instanceof Map)) throw new PickleError("SETITEM on something that is not a dict", at);
    return v;
  }
  #setItems(d: PickleDict, items: StackItem[], at: number): void {
    if (items.length % 2) throw new PickleError("odd number of items for a dict", at);
    for (let i = 0; i < items.length; i += 2) {
      const k = items[i];
      if (
        k !== null && typeof k !== "string" && typeof k !== "number" && typeof k !== "bigint" &&
        typeof k !== "boolean"
      ) {
        throw new PickleError("dict key is not a str, int, bool or None", at);
      }
      d.set(k, this.#value(items[i + 1], at));
    }
  }
  #tuple(items: StackItem[], at: number): PickleTuple {
    if (items.includes(MARK)) throw new PickleError("MARK inside a tuple", at);
    return new PickleTuple(items as PickleValue[]);
  }
  /** Only finished values may go into lists, dicts and the result: no half-built numpy objects. */
  #value(v: StackItem, at: number): PickleValue {
    if (v === MARK) throw new PickleError("unexpected MARK", at);
    if (v instanceof Global) {
      if (this.options.records) return new PickleObject(v.qualified, []);
      throw new PickleError(`global ${v.qualified} used as a value`, at);
    }
    if (v instanceof NumpyDType) throw new PickleError("numpy dtype used as a value", at);
    if (v instanceof PendingArray) throw new PickleError("numpy array without its state", at);
    if (v instanceof PickleTuple) {
      return new PickleTuple(v.items.map((x) => this.#value(x as StackItem, at)));
    }
    return v;
  }
  #finish(v: StackItem, at: number): PickleValue {
    return this.#value(v, at);
  }

  // -- globals ---------------------------------------------------------------------------------

  #global(module: string, name: string, at: number): Global {
    const o = this.options;
    if (!allowedGlobal(module, name) && !o.calls?.[`${module}.${name}`] && !o.records) {
      throw new PickleError(
        `global ${module}.${name} is not allowed (only numpy arrays/scalars and plain data)`,
        at,
      );
    }
    return new Global(module, name);
  }

  #call(fn: Global, args: PickleValue[], at: number): StackItem {
    const name = fn.name;
    if (!allowedGlobal(fn.module, name)) {
      const own = this.options.calls?.[fn.qualified];
      if (own) return own(args.map((a) => this.#value(a as StackItem, at)));
      if (fn.qualified === "collections.OrderedDict") {
        const d: PickleDict = new Map();
        const items = args[0];
        if (Array.isArray(items)) {
          for (const pair of items) {
            if (!(pair instanceof PickleTuple) || pair.items.length !== 2) {
              throw new PickleError("OrderedDict items are not (key, value) pairs", at);
            }
            this.#setItems(d, pair.items as StackItem[], at);
          }
        }
        return d;
      }
      return this.#newObject(fn, args, at);
    }
    if (fn.module === "numpy" && name === "dtype") {
      if (typeof args[0] !== "string") throw new PickleError("numpy.dtype expects a type code", at);
      return new NumpyDType(args[0]);
    }
    if (name === "_reconstruct") {
      const cls = args[0] as StackItem;
      if (!(cls instanceof Global) || cls.qualified !== "numpy.ndarray") {
        throw new PickleError("_reconstruct only builds numpy.ndarray", at);
      }
      return new PendingArray();
    }
    if (fn.module === "_codecs") {
      // numpy under protocol 2 stores raw bytes as _codecs.encode(latin-1 text, "latin1").
      const [text, encoding] = args;
      if (typeof text !== "string" || (encoding !== "latin1" && encoding !== "latin-1")) {
        throw new PickleError("_codecs.encode is only decoded for latin1 text", at);
      }
      const out = new Uint8Array(text.length);
      for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c > 255) throw new PickleError("_codecs.encode text is not latin-1", at);
        out[i] = c;
      }
      return out;
    }
    if (name === "scalar") {
      const [dtype, raw] = args as StackItem[];
      if (!(dtype instanceof NumpyDType) || !(raw instanceof Uint8Array)) {
        throw new PickleError("numpy scalar expects (dtype, bytes)", at);
      }
      const a = arrayFromBytes(raw, dtype, [], false, at);
      const x = a.data[0];
      if (typeof x === "string") throw new PickleError("string numpy scalars are not decoded", at);
      return typeof x === "bigint" && Number.isSafeInteger(Number(x)) ? Number(x) : x;
    }
    if (name === "_frombuffer") {
      const [buf, dtype, shape, order] = args as StackItem[];
      if (!(buf instanceof Uint8Array) || !(dtype instanceof NumpyDType)) {
        throw new PickleError("_frombuffer expects (buffer, dtype, shape, order)", at);
      }
      return arrayFromBytes(buf, dtype, shapeOf(shape, at), order === "F", at);
    }
    throw new PickleError(`global ${fn.qualified} cannot be called`, at);
  }

  /** An instance of a class we do not know: a record, only when the caller asked for records. */
  #newObject(cls: StackItem, args: PickleValue[], at: number): PickleObject {
    if (!(cls instanceof Global)) throw new PickleError("NEWOBJ on something not a class", at);
    if (!this.options.records) {
      throw new PickleError(`class ${cls.qualified} cannot be instantiated`, at);
    }
    return new PickleObject(cls.qualified, args.map((a) => this.#value(a as StackItem, at)));
  }

  #persistent(pid: PickleValue, at: number): PickleValue {
    const load = this.options.persistentLoad;
    if (!load) {
      throw new PickleError("persistent id (data kept outside the pickle) without a loader", at);
    }
    return load(pid);
  }

  #build(obj: StackItem, state: StackItem, at: number): StackItem {
    if (obj instanceof PickleObject) {
      obj.state = this.#value(state, at);
      return obj;
    }
    // An OrderedDict's state is its attributes (a state_dict's `_metadata`), not items.
    if (obj instanceof Map && this.#extended) return obj;
    const items = state instanceof PickleTuple ? state.items as StackItem[] : undefined;
    if (obj instanceof NumpyDType) {
      // (version, byteorder, subarray, names, fields, elsize, alignment, flags)
      const order = items?.[1];
      if (typeof order !== "string" || items?.[3] !== null) {
        throw new PickleError("numpy dtype state is not a plain numeric dtype", at);
      }
      obj.order = order;
      return obj;
    }
    if (obj instanceof PendingArray) {
      // (version, shape, dtype, is_fortran, raw data)
      if (!items || items.length !== 5) {
        throw new PickleError("numpy array state is not 5 items", at);
      }
      const [, shape, dtype, fortran, raw] = items;
      if (!(dtype instanceof NumpyDType)) throw new PickleError("numpy array without a dtype", at);
      if (!(raw instanceof Uint8Array)) {
        throw new PickleError("numpy array data is not raw bytes (object arrays are refused)", at);
      }
      return arrayFromBytes(raw, dtype, shapeOf(shape, at), fortran === true, at);
    }
    throw new PickleError(
      "BUILD (__setstate__) on an object that is not a numpy array or dtype",
      at,
    );
  }
}

/** NEWOBJ, NEWOBJ_EX, PERSID, BINPERSID. */
const CHECKPOINT_OPCODES = new Set([0x81, 0x92, 0x50, 0x51]);

function unsupportedOpcode(op: number, at: number): PickleError {
  return new PickleError(
    `unsupported pickle opcode 0x${hex(op)}${opName(op)} (only plain data and numpy ` +
      `arrays are decoded)`,
    at,
  );
}

function shapeOf(v: StackItem | undefined, at: number): number[] {
  if (!(v instanceof PickleTuple)) throw new PickleError("numpy shape is not a tuple", at);
  return v.items.map((d) => {
    if (typeof d !== "number" || !Number.isInteger(d) || d < 0) {
      throw new PickleError("numpy shape holds a non-integer", at);
    }
    return d;
  });
}

interface DtypeInfo {
  npy: Exclude<NpyDtype, "U">;
  size: number;
}
const DTYPES: Record<string, DtypeInfo> = {
  f2: { npy: "f2", size: 2 },
  f4: { npy: "f4", size: 4 },
  f8: { npy: "f8", size: 8 },
  i1: { npy: "i1", size: 1 },
  i2: { npy: "i2", size: 2 },
  i4: { npy: "i4", size: 4 },
  i8: { npy: "i8", size: 8 },
  u1: { npy: "u1", size: 1 },
  u2: { npy: "u2", size: 2 },
  u4: { npy: "u4", size: 4 },
  b1: { npy: "b1", size: 1 },
};

/** Raw numpy bytes (any byte order, C or Fortran) → a C-order native NdArray. */
function arrayFromBytes(
  raw: Uint8Array,
  dtype: NumpyDType,
  shape: number[],
  fortran: boolean,
  at: number,
): NdArray {
  const info = DTYPES[dtype.code];
  if (!info) {
    throw new PickleError(
      `numpy dtype "${dtype.code}" is not decoded (supported: ${Object.keys(DTYPES).join(", ")})`,
      at,
    );
  }
  const count = shape.reduce((a, b) => a * b, 1);
  if (raw.length !== count * info.size) {
    throw new PickleError(
      `numpy array [${shape}] ${dtype.code} needs ${count * info.size} bytes, has ${raw.length}`,
      at,
    );
  }
  // Copy to a fresh, aligned buffer in little-endian C order.
  let bytes = raw.slice();
  if (dtype.order === ">" && info.size > 1) swapBytes(bytes, info.size);
  if (fortran && shape.length > 1) bytes = fortranToC(bytes, shape, info.size);
  return { dtype: info.npy, shape, data: typedView(info.npy, bytes.buffer, count) };
}

function longFromBytes(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  if (b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

function parseTextInt(s: string, at: number): number | bigint {
  if (!/^[+-]?\d+$/.test(s)) throw new PickleError(`integer opcode holds "${s}"`, at);
  const v = BigInt(s);
  return Number.isSafeInteger(Number(v)) ? Number(v) : v;
}

function parseTextIndex(s: string, at: number): number {
  const v = parseTextInt(s, at);
  if (typeof v !== "number" || v < 0) throw new PickleError(`bad memo index "${s}"`, at);
  return v;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}

const OPCODE_NAMES: Record<number, string> = {
  0x81: "NEWOBJ",
  0x92: "NEWOBJ_EX",
  0x8f: "EMPTY_SET",
  0x90: "ADDITEMS",
  0x91: "FROZENSET",
  0x82: "EXT1",
  0x83: "EXT2",
  0x84: "EXT4",
  0x50: "PERSID",
  0x51: "BINPERSID",
  0x69: "INST",
  0x6f: "OBJ",
  0x53: "STRING",
  0x56: "UNICODE",
};
function opName(op: number): string {
  const n = OPCODE_NAMES[op];
  return n ? ` (${n})` : "";
}
