/**
 * Bindings for shaders/sae_decode.wgsl: x̂ from the active entries of one chunk, the auxiliary
 * decode of dead features, the per-token loss/gradient of the reconstruction and of the auxiliary
 * loss. The CPU reference of the whole loss lives in kernels/sae_backward.ts.
 */
import type { CommandBatch } from "../compute/gpu/mod.ts";
import {
  decodeInputBindings,
  dispatchSae,
  rowCellWorkgroups,
  type SaeDispatchParams,
  type SaeKernelConfig,
  type SaeParamTensors,
  type SaeStepBuffers,
} from "./sae_common.ts";

type DecodeEntry = "decode" | "aux_decode" | "auxk_decode" | "token_loss" | "aux_loss";

/** Records one sae_decode.wgsl entry point over chunk `chunk`. */
export function decodeKernel(
  batch: CommandBatch,
  entryPoint: DecodeEntry,
  cfg: SaeKernelConfig,
  params: SaeParamTensors,
  bufs: SaeStepBuffers,
  chunk: number,
  p: SaeDispatchParams,
): void {
  const perToken = entryPoint === "token_loss" || entryPoint === "aux_loss";
  dispatchSae(batch, cfg, p, {
    shader: "sae_decode.wgsl",
    entryPoint,
    bindings: {
      ...decodeInputBindings(params, bufs, chunk),
      scan: bufs.scan,
      xhat: bufs.xhat,
      aux_out: bufs.auxOut,
      de: bufs.de,
      dg: bufs.dg,
      stats: bufs.stats,
      act_list: bufs.act,
    },
    workgroups: perToken ? [p.nChunk] : rowCellWorkgroups(cfg.dIn, p.nChunk),
    label:
      `sae_decode.${entryPoint} chunk ${chunk} [${p.nChunk},${cfg.dSae}]x[${cfg.dSae},${cfg.dIn}]`,
  });
}
