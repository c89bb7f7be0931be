/** Exact (erf) GELU and GEGLU, the WGSL erf they rest on, and float64 CPU references. */
import {
  type CommandBatch,
  shaderSource,
  ShapeError,
  type Tensor,
  uniformFields,
} from "../compute/gpu/mod.ts";
import { requireDistinct, requireF32, requireSameShape } from "./checks.ts";

/** WGSL defining `erf`, `erfc_nonneg` and `gelu`; prepend it through a pipeline `header`. */
export const GELU_WGSL: string = shaderSource("gelu_math.wgsl");

function checkSameShape(what: string, x: Tensor, out: Tensor): void {
  requireF32(what, { x, out });
  requireSameShape(what, "out", out, x);
  requireDistinct(what, out, { x });
}

function elementwise(
  batch: CommandBatch,
  entryPoint: string,
  x: Tensor,
  out: Tensor,
  hidden: number,
  label: string,
): void {
  if (out.size === 0) return;
  batch.dispatch({
    shader: "gelu.wgsl",
    entryPoint,
    header: GELU_WGSL,
    bindings: { x, out, params: uniformFields({ count: out.size, hidden }) },
    workgroups: { invocations: out.size },
    label,
  });
}

/** out = GELU(x) = x·Φ(x), elementwise. */
export function gelu(batch: CommandBatch, x: Tensor, out: Tensor): void {
  checkSameShape("gelu", x, out);
  elementwise(batch, "gelu_main", x, out, 0, `gelu x[${x.shape}]`);
}

/** x [..., 2H] → out [..., H] = value · GELU(gate), value = first half, gate = second half. */
export function geglu(batch: CommandBatch, x: Tensor, out: Tensor): void {
  const where = `geglu x[${x.shape}] out[${out.shape}]`;
  requireF32(where, { x, out });
  const h = out.shape[out.shape.length - 1];
  const lead = x.shape.slice(0, -1);
  if (
    x.shape.length === 0 || out.shape.length !== x.shape.length ||
    x.shape[x.shape.length - 1] !== 2 * h || lead.some((d, i) => d !== out.shape[i])
  ) {
    throw new ShapeError(`${where}: expected x [..., 2H] and out [..., H]`);
  }
  requireDistinct(where, out, { x });
  elementwise(batch, "geglu_main", x, out, h, where);
}

/** out = erf(x) elementwise: exposes the WGSL erf so its accuracy can be tested. */
export function erfValues(batch: CommandBatch, x: Tensor, out: Tensor): void {
  checkSameShape("erf", x, out);
  elementwise(batch, "erf_main", x, out, 0, `erf x[${x.shape}]`);
}

/**
 * erf in float64 by the everywhere-positive series erf(x) = 2/√π · e^(−x²) · Σ 2ⁿ x^(2n+1) / (2n+1)!!
 * (no cancellation; independent of the WGSL formula). Beyond |x| = 6, erfc < 3e-17: erf = ±1.
 */
export function erfRef(x: number): number {
  const z = Math.abs(x);
  if (z > 6) return Math.sign(x);
  let term = z;
  let sum = z;
  for (let n = 1; n < 500; n++) {
    term *= (2 * z * z) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
}

/**
 * erfc in float64: 1 − erf below 3, and above it the continued fraction
 * erfc(x) = e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))), evaluated from depth 200,
 * which keeps relative accuracy far into the tail where 1 − erf is 0.
 */
export function erfcRef(x: number): number {
  if (x < 3) return 1 - erfRef(x);
  let t = x;
  for (let n = 200; n >= 1; n--) t = x + n / 2 / t;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
}

/** GELU(x) = 0.5 · x · erfc(−x/√2) in float64. */
export function geluRef(x: number): number {
  return 0.5 * x * erfcRef(-x / Math.SQRT2);
}

export function geluRefArray(x: Float32Array): Float32Array {
  return x.map(geluRef);
}

/** x [rows, 2H] → [rows, H]. */
export function gegluRef(x: Float32Array, rows: number, h: number): Float32Array {
  const out = new Float32Array(rows * h);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < h; c++) out[r * h + c] = x[r * 2 * h + c] * geluRef(x[r * 2 * h + h + c]);
  }
  return out;
}
