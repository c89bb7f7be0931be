/** Shape and dtype checks shared by the kernel bindings; failures throw ShapeError naming the kernel. */
import { ShapeError, type Tensor } from "../compute/gpu/mod.ts";

export function requireF32(what: string, tensors: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== "f32") throw new ShapeError(`${what}: ${name} must be f32, got ${t.dtype}`);
  }
}

export function sameShape(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((d, i) => d === y[i]);
}

export function requireSameShape(what: string, name: string, t: Tensor, like: Tensor): void {
  if (!sameShape(t.shape, like.shape)) {
    throw new ShapeError(`${what}: ${name} must be [${like.shape}], got [${t.shape}]`);
  }
}

/** rows × d for a tensor [..., d] whose last axis is reduced or normalised (d ≥ 1). */
export function lastAxis(what: string, x: Tensor): { rows: number; d: number } {
  if (x.shape.length === 0 || x.shape[x.shape.length - 1] < 1) {
    throw new ShapeError(`${what}: x must be [..., D] with D >= 1, got [${x.shape}]`);
  }
  const d = x.shape[x.shape.length - 1];
  return { rows: x.size / d, d };
}

/** A [d] parameter vector (LayerNorm/RMSNorm weight or bias). */
export function requireVector(what: string, name: string, t: Tensor, d: number): void {
  if (t.shape.length !== 1 || t.shape[0] !== d) {
    throw new ShapeError(`${what}: ${name} must be [${d}], got [${t.shape}]`);
  }
}

/** WebGPU forbids binding one buffer as both read-only and writable storage in a dispatch. */
export function requireDistinct(what: string, out: Tensor, inputs: Record<string, Tensor>): void {
  for (const [name, t] of Object.entries(inputs)) {
    if (t.buffer === out.buffer) throw new ShapeError(`${what}: out may not alias ${name}`);
  }
}
