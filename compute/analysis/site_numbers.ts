/** Number formatting shared by the files the report site reads. */

/** Rounds to 4 significant digits (site files stay small). */
export function round4(v: number): number {
  return v === 0 || !Number.isFinite(v) ? 0 : Number(v.toPrecision(4));
}
