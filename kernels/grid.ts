/** Dispatch geometry shared by the kernels (defined with the runtime, which folds grids too). */
export { grid1d } from "../compute/gpu/grid.ts";
