/**
 * @module
 * ONNX without Python: a typed builder that writes ONNX models (what `deno task export-onnx` uses
 * to export REVE as an independent oracle for our kernels), and onnxruntime-web sessions on its
 * wasm or WebGPU backend (the anchor `deno task bench` races our forward against).
 *
 * Main exports: {@link OnnxGraphBuilder}, {@link createOrtSession}, {@link ORT_BACKENDS}.
 *
 * ```ts
 * import { createOrtSession, OnnxGraphBuilder } from "./mod.ts";
 *
 * const g = new OnnxGraphBuilder("relu");
 * const x = g.input("x", "float32", ["n", 4]);
 * g.node("Relu", [x], {}, "y");
 * g.output("y", "float32", ["n", 4]);
 * const session = await createOrtSession(g.build({ producerName: "example" }), "wasm");
 * ```
 */
export { OnnxGraphBuilder } from "./graph_builder.ts";
export { createOrtSession, ORT_BACKENDS, type OrtBackend, type OrtSession } from "./ort_session.ts";
