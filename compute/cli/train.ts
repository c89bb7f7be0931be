/** `deno task train`: trains a sparse autoencoder on activations (see compute/pipeline/train_run.ts). */
import { runCli } from "./run_cli.ts";
import { bool, FlagError, type FlagSpec, type FlagValues, num, optStr, str } from "./flags.ts";
import {
  flagList,
  FLAGS,
  REVE_FLAGS,
  SAE_TRAINING_FLAGS,
  saeConfigFrom,
  SOURCE_FLAGS,
  sourceSpecFrom,
  withDefaults,
} from "./flag_registry.ts";
import { runTraining } from "../pipeline/train_run.ts";
import type { SaeTrainConfig } from "../sae/config.ts";
import type { ScalingMode } from "../data/trials.ts";
import { canonicalHookName } from "../reve/hooks.ts";

const TRAIN_FLAGS: FlagSpec[] = flagList(
  {
    name: "activations",
    type: "string",
    help: "activations .npy [N, d_in] or a folder of .npy shards",
  },
  SOURCE_FLAGS,
  REVE_FLAGS,
  withDefaults([FLAGS.out], { out: "runs/sae" }),
  {
    name: "resume",
    type: "string",
    help: "continue the run in this folder from its last checkpoint",
  },
  SAE_TRAINING_FLAGS,
  { name: "progress", type: "boolean", help: "progress bar on stderr", default: true },
);

function configFrom(v: FlagValues): Partial<SaeTrainConfig> {
  return {
    ...saeConfigFrom(v),
    provenance: {
      model: optStr(v, "model") ?? "",
      block_layer: num(v, "block_layer"),
      hook_name: canonicalHookName(str(v, "hook"), num(v, "block_layer")),
      batch_size: num(v, "batch_size"),
    },
  };
}

function reveSpec(v: FlagValues) {
  const source = sourceSpecFrom(v);
  if (!source.dbPath && !source.recordings?.length) return undefined;
  const model = optStr(v, "model");
  if (!model) throw new FlagError("--db_path and --recordings need --model (a REVE model)");
  return {
    source,
    model,
    blockLayer: num(v, "block_layer"),
    hook: str(v, "hook"),
    scaling: str(v, "scaling") as ScalingMode,
    batchSize: num(v, "batch_size"),
  };
}

runCli({
  usage:
    "deno task train --activations FILE.npy|DIR [--out runs/NAME] [--architecture relu|topk|batchtopk|jumprelu]\n" +
    "       deno task train --db_path LMDB | --recordings PATH --model REVE [--block_layer -2 --hook resid_post]\n" +
    "       deno task train --resume runs/NAME --activations FILE.npy|DIR",
  flags: TRAIN_FLAGS,
  main: async ({ values }) => {
    await runTraining({
      activations: optStr(values, "activations"),
      reve: await reveSpec(values),
      out: str(values, "out"),
      resume: optStr(values, "resume"),
      config: configFrom(values),
      argv: Deno.args,
      progress: bool(values, "progress"),
    });
  },
});
