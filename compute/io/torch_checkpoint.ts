/**
 * A minimal, safe reader of PyTorch checkpoints: what `torch.save` writes (a zip holding
 * `<name>/data.pkl` and one file per tensor storage under `<name>/data/`) and a plain pickle of
 * tensors (each storage embedded by `torch.storage._load_from_bytes` in torch's older
 * serialisation: magic number, protocol, system info, the object, its storage keys, then each
 * storage as an int64 element count and its bytes). Tensors come back as `NdArray`s in C order
 * (half floats widened to float32, as npy.ts does);
 * objects of any other class become `PickleObject` records through the safe decoder. Nothing in
 * the file is executed.
 */
import { unzipSync } from "fflate";
import { type NdArray, type NdData, type NpyDtype, typedView } from "./npy.ts";
import {
  type DecodeOptions,
  decodePickle,
  decodePickleAt,
  isNdArray,
  PickleError,
  PickleObject,
  PickleTuple,
  type PickleValue,
} from "./pickle_decode.ts";
import { EegSaeError } from "../util/errors.ts";

export class TorchCheckpointError extends EegSaeError {
  constructor(path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
  }
}

type NumericDtype = Exclude<NpyDtype, "U">;

/** torch's typed storage classes and the numpy dtype of their elements. */
const STORAGE_DTYPES: Record<string, { dtype: NumericDtype; bytes: number }> = {
  "torch.FloatStorage": { dtype: "f4", bytes: 4 },
  "torch.DoubleStorage": { dtype: "f8", bytes: 8 },
  "torch.HalfStorage": { dtype: "f2", bytes: 2 },
  "torch.LongStorage": { dtype: "i8", bytes: 8 },
  "torch.IntStorage": { dtype: "i4", bytes: 4 },
  "torch.ShortStorage": { dtype: "i2", bytes: 2 },
  "torch.CharStorage": { dtype: "i1", bytes: 1 },
  "torch.ByteStorage": { dtype: "u1", bytes: 1 },
  "torch.BoolStorage": { dtype: "b1", bytes: 1 },
};

/** The magic number torch's older format starts with. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Reads a `torch.save` zip or a pickle of tensors (gunzipped by the caller). */
export function readTorchCheckpoint(bytes: Uint8Array, path: string): PickleValue {
  try {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) return readZip(bytes, path);
    return decodePickle(bytes, path, tensorOptions(path, noStorages(path)));
  } catch (e) {
    if (e instanceof PickleError) throw new TorchCheckpointError(path, e.message);
    throw e;
  }
}

function noStorages(path: string): (pid: PickleValue) => PickleValue {
  return () => {
    throw new TorchCheckpointError(path, "a persistent id outside a torch.save file");
  };
}

/** Options that rebuild tensors from storages; `persistentLoad` finds a storage by its id. */
function tensorOptions(
  path: string,
  persistentLoad: (pid: PickleValue) => PickleValue,
): DecodeOptions {
  return {
    records: true,
    persistentLoad,
    calls: {
      "torch._utils._rebuild_tensor_v2": (args) => rebuildTensor(args, path),
      "torch._utils._rebuild_tensor": (args) => rebuildTensor(args, path),
      // nn.Parameter(tensor, requires_grad, hooks[, state]): the tensor is what matters.
      "torch._utils._rebuild_parameter": (args) => args[0],
      "torch._utils._rebuild_parameter_with_state": (args) => args[0],
      "torch.storage._load_from_bytes": (args) => {
        if (!(args[0] instanceof Uint8Array)) {
          throw new TorchCheckpointError(path, "_load_from_bytes without bytes");
        }
        return readLegacyStorage(args[0], path);
      },
    },
  };
}

function readZip(bytes: Uint8Array, path: string): PickleValue {
  const files = unzipSync(bytes);
  const pickleName = Object.keys(files).find((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (!pickleName) {
    throw new TorchCheckpointError(path, "a zip without <name>/data.pkl is not a torch.save file");
  }
  const root = pickleName.slice(0, -"data.pkl".length);
  return decodePickle(
    files[pickleName],
    `${path}: ${pickleName}`,
    tensorOptions(path, (pid) => {
      const { key, type, numel } = storageId(pid, path);
      const raw = files[`${root}data/${key}`];
      if (!raw) throw new TorchCheckpointError(path, `storage ${root}data/${key} is missing`);
      return storageArray(raw, type, numel, path);
    }),
  );
}

/** ('storage', torch.FloatStorage, key, location, numel[, view metadata]) */
function storageId(pid: PickleValue, path: string) {
  const items = pid instanceof PickleTuple ? pid.items : [];
  const [tag, type, key, , numel] = items;
  if (
    tag !== "storage" || !(type instanceof PickleObject) || typeof key !== "string" ||
    typeof numel !== "number"
  ) {
    throw new TorchCheckpointError(path, "a persistent id that is not a tensor storage");
  }
  return { type: type.className, key, numel };
}

function storageArray(raw: Uint8Array, type: string, numel: number, path: string): NdArray {
  const info = STORAGE_DTYPES[type];
  if (!info) throw new TorchCheckpointError(path, `storage type ${type} is not read`);
  if (raw.length < numel * info.bytes) {
    throw new TorchCheckpointError(path, `${type} of ${numel} elements has ${raw.length} bytes`);
  }
  const copy = raw.slice(0, numel * info.bytes);
  return { dtype: info.dtype, shape: [numel], data: typedView(info.dtype, copy.buffer, numel) };
}

/** The storage inside `_load_from_bytes`: torch's older format holding one storage. */
function readLegacyStorage(bytes: Uint8Array, path: string): PickleValue {
  const what = `${path}: embedded storage`;
  let at = 0;
  const next = (options: DecodeOptions = {}) => {
    const r = decodePickleAt(bytes, at, what, options);
    at = r.end;
    return r.value;
  };
  const magic = next();
  if (
    BigInt(typeof magic === "number" || typeof magic === "bigint" ? magic : -1) !== LEGACY_MAGIC
  ) {
    throw new TorchCheckpointError(path, "embedded storage lacks torch's magic number");
  }
  next(); // protocol version
  next(); // system info (byte order, type sizes)
  const objectAt = at;
  const ids: { key: string; type: string; numel: number }[] = [];
  next({
    records: true,
    persistentLoad: (pid) => {
      ids.push(storageId(pid, path));
      return null;
    },
  });
  const keys = next();
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== "string")) {
    throw new TorchCheckpointError(path, "embedded storage keys are not a list of strings");
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, NdArray>();
  for (const key of keys as string[]) {
    const id = ids.find((i) => i.key === key);
    const info = id && STORAGE_DTYPES[id.type];
    if (!id || !info) throw new TorchCheckpointError(path, `storage ${key} has no known type`);
    if (at + 8 > bytes.length) throw new TorchCheckpointError(path, "embedded storage truncated");
    const numel = Number(view.getBigInt64(at, true));
    at += 8;
    const end = at + numel * info.bytes;
    if (end > bytes.length) throw new TorchCheckpointError(path, "embedded storage truncated");
    storages.set(key, storageArray(bytes.subarray(at, end), id.type, numel, path));
    at = end;
  }
  at = objectAt;
  return next({
    records: true,
    persistentLoad: (pid) => storages.get(storageId(pid, path).key)!,
  });
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, ...)`: the strided view, copied to C order. */
function rebuildTensor(args: PickleValue[], path: string): NdArray {
  const [storage, offset, size, stride] = args;
  const ints = (v: PickleValue) =>
    v instanceof PickleTuple && v.items.every((x) => typeof x === "number")
      ? v.items as number[]
      : undefined;
  const shape = ints(size);
  const strides = ints(stride);
  if (
    !isNdArray(storage) || typeof offset !== "number" || !shape || !strides ||
    shape.length !== strides.length
  ) {
    throw new TorchCheckpointError(path, "a tensor that is not (storage, offset, size, stride)");
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const src = storage.data;
  if (Array.isArray(src)) throw new TorchCheckpointError(path, "a tensor of strings");
  const out = new (src.constructor as new (n: number) => NdData)(n) as Float32Array;
  const from = src as Float32Array;
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    let at = offset;
    for (let d = 0; d < shape.length; d++) at += index[d] * strides[d];
    if (at >= from.length) throw new TorchCheckpointError(path, "a tensor beyond its storage");
    out[i] = from[at];
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return { dtype: storage.dtype, shape, data: out };
}
