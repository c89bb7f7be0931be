/**
 * Flags that the analysis CLIs over a trained SAE (features, probe) share, grouped as they appear
 * in each CLI's flag list so `--help` keeps its order.
 */
import { BCIC2A_CLASS_NAMES } from "../data/montage.ts";
import type { FlagSpec } from "./flags.ts";

/** The trained SAE and the REVE model it reads. */
export const SAE_MODEL_FLAGS: readonly FlagSpec[] = [
  { name: "sae", type: "string", help: "SAE folder with cfg.json and sae_weights.safetensors" },
  { name: "model", type: "string", help: "REVE folder with config.json and model.safetensors" },
];

/** How trials become REVE activations (defaults come from the SAE's cfg.json). */
export const ACTIVATION_FLAGS: readonly FlagSpec[] = [
  {
    name: "scaling",
    type: "string",
    help: "input scaling (default: the one recorded in the SAE's cfg.json)",
    choices: ["uv_div100", "zscore_clip15", "none"],
  },
  { name: "hook", type: "string", help: "REVE hook to read (default: the SAE's hook_name)" },
  { name: "batch_size", type: "int", help: "trials per GPU pass", default: 8 },
];

/** Labels of the classes and what to do with undecodable trials. */
export const TRIAL_LABEL_FLAGS: readonly FlagSpec[] = [
  {
    name: "class_names",
    type: "list",
    help: "class names in label order",
    default: [...BCIC2A_CLASS_NAMES],
  },
  { name: "skip_bad", type: "boolean", help: "skip undecodable trials (listed)", default: false },
];
