/** Elementwise add, scale and a + s·b on same-shaped tensors, with CPU references. */
import { type CommandBatch, type Tensor, uniformFields } from "../compute/gpu/mod.ts";
import { requireDistinct, requireF32, requireSameShape } from "./checks.ts";

/** `scale_main` writes `scaled` under `scale_params`; the binary entry points `out` under `params`. */
function dispatchElementwise(
  batch: CommandBatch,
  entryPoint: string,
  inputs: { lhs: Tensor; rhs?: Tensor },
  out: Tensor,
  s: number,
  what: string,
): void {
  const count = out.size;
  if (count === 0) return;
  const params = uniformFields({ count, s });
  batch.dispatch({
    shader: "elementwise.wgsl",
    entryPoint,
    bindings: inputs.rhs
      ? { lhs: inputs.lhs, rhs: inputs.rhs, out, params }
      : { lhs: inputs.lhs, scaled: out, scale_params: params },
    workgroups: { invocations: count },
    label: what,
  });
}

function checkBinary(what: string, a: Tensor, b: Tensor, out: Tensor): void {
  requireF32(what, { a, b, out });
  requireSameShape(what, "b", b, a);
  requireSameShape(what, "out", out, a);
  requireDistinct(what, out, { a, b });
}

/** out = a + b. */
export function add(batch: CommandBatch, a: Tensor, b: Tensor, out: Tensor): void {
  const what = `add a[${a.shape}]`;
  checkBinary(what, a, b, out);
  dispatchElementwise(batch, "add_main", { lhs: a, rhs: b }, out, 0, what);
}

/** out = a + s·b. */
export function addScaled(
  batch: CommandBatch,
  a: Tensor,
  b: Tensor,
  s: number,
  out: Tensor,
): void {
  const what = `addScaled a[${a.shape}] s=${s}`;
  checkBinary(what, a, b, out);
  dispatchElementwise(batch, "add_scaled_main", { lhs: a, rhs: b }, out, s, what);
}

/** out = s·x. */
export function scale(batch: CommandBatch, x: Tensor, s: number, out: Tensor): void {
  const what = `scale x[${x.shape}] s=${s}`;
  requireF32(what, { x, out });
  requireSameShape(what, "out", out, x);
  requireDistinct(what, out, { x });
  dispatchElementwise(batch, "scale_main", { lhs: x }, out, s, what);
}

export function addRef(a: Float32Array, b: Float32Array): Float32Array {
  return a.map((v, i) => v + b[i]);
}

export function addScaledRef(a: Float32Array, b: Float32Array, s: number): Float32Array {
  return a.map((v, i) => v + Math.fround(s) * b[i]);
}

export function scaleRef(x: Float32Array, s: number): Float32Array {
  return x.map((v) => Math.fround(s) * v);
}
