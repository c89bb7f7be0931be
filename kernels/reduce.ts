/** Reductions over the last axis (sum, mean, max, argmax) and over rows (bias gradients). */
import { type CommandBatch, ShapeError, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import { lastAxis, requireDistinct, requireF32, sameShape } from "./checks.ts";

export type ReduceOp = "sum" | "mean" | "max" | "argmax";

/** out[...] = op(x[..., :]); out has x's shape without the last axis (or [1] for a 1-D x). */
export function reduce(batch: CommandBatch, x: Tensor, op: ReduceOp, out: Tensor): void {
  const what = `reduce ${op} x[${x.shape}] out[${out.shape}]`;
  requireF32(what, { x });
  const wanted = op === "argmax" ? "u32" : "f32";
  if (out.dtype !== wanted) {
    throw new ShapeError(`${what}: out must be ${wanted}, got ${out.dtype}`);
  }
  const { rows, d } = lastAxis(what, x);
  const lead = x.shape.slice(0, -1);
  if (!sameShape(out.shape, lead) && !(lead.length === 0 && sameShape(out.shape, [1]))) {
    throw new ShapeError(`${what}: out must be [${lead}]`);
  }
  requireDistinct(what, out, { x });
  if (rows === 0) return;
  batch.dispatch({
    shader: "reduce.wgsl",
    entryPoint: `${op}_main`,
    bindings: {
      x,
      [op === "argmax" ? "out_index" : "out"]: out,
      params: uniformFields({ rows, d }),
    },
    workgroups: { invocations: rows },
    label: what,
  });
}

/** out[c] = Σ_r x[r, c] for x [rows, cols] (e.g. a bias gradient from per-token gradients). */
export function sumRows(batch: CommandBatch, x: Tensor, out: Tensor): void {
  const what = `sumRows x[${x.shape}] out[${out.shape}]`;
  requireF32(what, { x, out });
  if (x.shape.length !== 2 || !sameShape(out.shape, [x.shape[1]])) {
    throw new ShapeError(`${what}: expected x [rows, cols] and out [cols]`);
  }
  requireDistinct(what, out, { x });
  const [rows, cols] = x.shape;
  if (cols === 0) return;
  batch.dispatch({
    shader: "reduce.wgsl",
    entryPoint: "sum_rows_main",
    bindings: { x, out, params: uniformFields({ rows, d: cols }) },
    workgroups: { invocations: cols },
    label: what,
  });
}

/** float64 reference; argmax gives the first index of the maximum. */
export function reduceRef(x: Float32Array, d: number, op: ReduceOp): Float32Array | Uint32Array {
  const rows = x.length / d;
  const out = op === "argmax" ? new Uint32Array(rows) : new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * d, (r + 1) * d);
    if (op === "sum" || op === "mean") {
      let s = 0;
      for (const v of row) s += v;
      out[r] = op === "mean" ? s / d : s;
    } else {
      let at = 0;
      for (let i = 1; i < d; i++) if (row[i] > row[at]) at = i;
      out[r] = op === "max" ? row[at] : at;
    }
  }
  return out;
}

export function sumRowsRef(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(cols);
  for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += x[r * cols + c];
    out[c] = s;
  }
  return out;
}
