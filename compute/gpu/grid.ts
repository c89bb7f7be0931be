/** Dispatch geometry shared by the kernels: flat index spaces folded into a 2-D workgroup grid. */

/**
 * Workgroups for `count` items at `perGroup` items per workgroup. Grids wider than the per-dimension
 * limit fold into y; shaders rebuild the flat index as `(wid.y · num_workgroups.x + wid.x)`.
 */
export function grid1d(
  count: number,
  perGroup: number,
  maxPerDimension: number,
): [number, number] {
  const groups = Math.max(1, Math.ceil(count / perGroup));
  if (groups <= maxPerDimension) return [groups, 1];
  const y = Math.ceil(groups / maxPerDimension);
  return [Math.ceil(groups / y), y];
}
