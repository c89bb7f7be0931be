/**
 * A small typed builder for ONNX models on npm `onnx-proto`: graph inputs and outputs with
 * symbolic or fixed dimensions, float32/int64 initialisers, nodes with typed attributes, and
 * serialisation to ModelProto bytes that onnxruntime (or any ONNX tool) loads.
 */
import onnxProto from "onnx-proto";
import { EegSaeError } from "../util/errors.ts";

// onnx-proto is CommonJS (`module.exports = { onnx }`): Deno exposes it as the default export.
const { onnx } = onnxProto;

/** ONNX element types this project writes. */
export type OnnxElemType = "float32" | "int64";

const ELEM_TYPE_CODE: Record<OnnxElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

/** A dimension: a fixed size or a symbolic name such as "batch". */
export type OnnxDim = number | string;

/** A node attribute with its ONNX type made explicit (JS numbers alone cannot say int or float). */
export type OnnxAttr =
  | { kind: "int"; value: number }
  | { kind: "float"; value: number }
  | { kind: "ints"; value: readonly number[] }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "string"; value: string };

export const attrInt = (value: number): OnnxAttr => ({ kind: "int", value });
export const attrFloat = (value: number): OnnxAttr => ({ kind: "float", value });
export const attrInts = (value: readonly number[]): OnnxAttr => ({ kind: "ints", value });
export const attrFloats = (value: readonly number[]): OnnxAttr => ({ kind: "floats", value });
export const attrString = (value: string): OnnxAttr => ({ kind: "string", value });

export class OnnxGraphError extends EegSaeError {}

/** The opset LayerNormalization needs (it is an ONNX function from opset 17). */
export const DEFAULT_OPSET = 17;
/** IR version 8 is the lowest that allows opset 17. */
const IR_VERSION = 8;

type Attribute = InstanceType<typeof onnx.AttributeProto>;
type ValueInfo = InstanceType<typeof onnx.ValueInfoProto>;
type Node = InstanceType<typeof onnx.NodeProto>;
type Initializer = InstanceType<typeof onnx.TensorProto>;

export interface OnnxModelInfo {
  producerName: string;
  producerVersion?: string;
  docString?: string;
  /** Free-form key/value metadata stored in the model (e.g. the source config). */
  metadata?: Record<string, string>;
}

/** Builds one ONNX graph. Values are referred to by name; every helper returns its output's name. */
export class OnnxGraphBuilder {
  readonly opset: number;
  #name: string;
  #inputs: ValueInfo[] = [];
  #outputs: ValueInfo[] = [];
  #nodes: Node[] = [];
  #initializers: Initializer[] = [];
  #names = new Set<string>();
  #counter = 0;

  constructor(name: string, opset = DEFAULT_OPSET) {
    this.#name = name;
    this.opset = opset;
  }

  /** Declares a graph input. */
  input(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): string {
    this.#claim(name);
    this.#inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /** Marks an existing value as a graph output. */
  output(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): void {
    if (!this.#names.has(name)) {
      throw new OnnxGraphError(`graph "${this.#name}": output "${name}" is not a known value`);
    }
    this.#outputs.push(valueInfo(name, elemType, dims));
  }

  /** A float32 initialiser (weights); `data.length` must equal the product of `dims`. */
  floatTensor(name: string, data: Float32Array, dims: readonly number[]): string {
    checkSize(name, data.length, dims);
    this.#claim(name);
    this.#initializers.push(onnx.TensorProto.create({
      name,
      dims: [...dims],
      dataType: ELEM_TYPE_CODE.float32,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    }));
    return name;
  }

  /** An int64 initialiser (shapes, axes, indices). */
  int64Tensor(name: string, values: readonly number[], dims: readonly number[]): string {
    checkSize(name, values.length, dims);
    this.#claim(name);
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    this.#initializers.push(onnx.TensorProto.create({
      name,
      dims: [...dims],
      dataType: ELEM_TYPE_CODE.int64,
      rawData: new Uint8Array(data.buffer),
    }));
    return name;
  }

  /** A float32 constant with a generated name: a scalar when `dims` is omitted. */
  constFloat(values: readonly number[], dims: readonly number[] = []): string {
    return this.floatTensor(this.#fresh("const_f32"), Float32Array.from(values), dims);
  }

  /** An int64 constant with a generated name: a 1-D vector when `dims` is omitted. */
  constInt64(values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.int64Tensor(this.#fresh("const_i64"), values, dims);
  }

  /** Adds a node with one output and returns the output's name (`outputName` or a fresh one). */
  node(
    opType: string,
    inputs: readonly string[],
    attrs: Record<string, OnnxAttr> = {},
    outputName?: string,
  ): string {
    return this.nodeMulti(opType, inputs, [outputName ?? this.#fresh(opType)], attrs)[0];
  }

  /** Adds a node with several named outputs (Split, ...). Returns the output names. */
  nodeMulti(
    opType: string,
    inputs: readonly string[],
    outputNames: readonly string[],
    attrs: Record<string, OnnxAttr> = {},
  ): string[] {
    for (const name of inputs) {
      if (name !== "" && !this.#names.has(name)) {
        throw new OnnxGraphError(
          `graph "${this.#name}": ${opType} input "${name}" is not a known value`,
        );
      }
    }
    for (const name of outputNames) this.#claim(name);
    this.#nodes.push(onnx.NodeProto.create({
      name: `${opType}_${this.#nodes.length}`,
      opType,
      input: [...inputs],
      output: [...outputNames],
      attribute: Object.entries(attrs).map(([name, a]) => attribute(name, a)),
    }));
    return [...outputNames];
  }

  /** A fresh value name with a readable prefix, for callers that need to name outputs. */
  freshName(prefix: string): string {
    return this.#fresh(prefix);
  }

  /** Serialises the model (ModelProto bytes). */
  build(info: OnnxModelInfo): Uint8Array {
    if (this.#outputs.length === 0) {
      throw new OnnxGraphError(`graph "${this.#name}" has no outputs`);
    }
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: "", version: this.opset }],
      producerName: info.producerName,
      producerVersion: info.producerVersion ?? "",
      docString: info.docString ?? "",
      metadataProps: Object.entries(info.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: onnx.GraphProto.create({
        name: this.#name,
        node: this.#nodes,
        input: this.#inputs,
        output: this.#outputs,
        initializer: this.#initializers,
      }),
    });
    return onnx.ModelProto.encode(model).finish();
  }

  #claim(name: string): void {
    if (this.#names.has(name)) {
      throw new OnnxGraphError(`graph "${this.#name}": value "${name}" is defined twice`);
    }
    this.#names.add(name);
  }

  #fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.#counter++}`; while (this.#names.has(name));
    return name;
  }
}

function checkSize(name: string, length: number, dims: readonly number[]): void {
  const want = dims.reduce((a, b) => a * b, 1);
  if (length !== want) {
    throw new OnnxGraphError(
      `initialiser "${name}": ${length} values for dims [${dims.join(",")}] (expected ${want})`,
    );
  }
}

function valueInfo(name: string, elemType: OnnxElemType, dims: readonly OnnxDim[]): ValueInfo {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPE_CODE[elemType],
        shape: {
          dim: dims.map((d) => typeof d === "number" ? { dimValue: d } : { dimParam: d }),
        },
      },
    },
  });
}

function attribute(name: string, a: OnnxAttr): Attribute {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      return onnx.AttributeProto.create({ name, type: T.INT, i: a.value });
    case "float":
      return onnx.AttributeProto.create({ name, type: T.FLOAT, f: a.value });
    case "ints":
      return onnx.AttributeProto.create({ name, type: T.INTS, ints: [...a.value] });
    case "floats":
      return onnx.AttributeProto.create({ name, type: T.FLOATS, floats: [...a.value] });
    case "string":
      return onnx.AttributeProto.create({
        name,
        type: T.STRING,
        s: new TextEncoder().encode(a.value),
      });
  }
}
