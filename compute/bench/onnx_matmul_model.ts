/** A one-node ONNX MatMul model: Y = A [M,K] (input) · B [K,N] (initializer). */
import { OnnxGraphBuilder } from "../onnx/graph_builder.ts";

export function matmulModel(m: number, k: number, n: number, b: Float32Array): Uint8Array {
  const g = new OnnxGraphBuilder("matmul");
  const a = g.input("A", "float32", [m, k]);
  const w = g.floatTensor("B", b, [k, n]);
  g.output(g.node("MatMul", [a, w], {}, "Y"), "float32", [m, n]);
  return g.build({ producerName: "eeg-sae bench" });
}
