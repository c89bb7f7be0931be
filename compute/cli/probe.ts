/** `deno task probe`: linear probe on SAE features and REVE activations, top-K masking, spliced evaluation. */
import {
  flagList,
  FLAGS,
  RECORDING_FLAGS,
  SAE_ANALYSIS_FLAGS,
  TRIAL_LABEL_FLAGS,
} from "./flag_registry.ts";
import { bool, FlagError, list, num, optNum, optStr, str } from "./flags.ts";
import { requiredLmdb } from "./recording_flags.ts";
import { runCli } from "./run_cli.ts";
import { join } from "node:path";
import { runProbeTask } from "../analysis/probe_task.ts";
import { PROBE_INPUTS, type ProbeInputName } from "../analysis/probe.ts";
import type { ProbeProtocolKind } from "../../schema/run_folder.ts";
import type { TopKCriterion } from "../analysis/topk_masking.ts";
import { DEFAULT_PROBE_FIT } from "../analysis/probe_fit.ts";
import type { ScalingMode } from "../data/trials.ts";

function numbers(values: string[], flag: string): number[] {
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      throw new FlagError(`--${flag}: "${v}" is not a positive number`);
    }
    return n;
  });
}

await runCli({
  usage: "deno task probe --sae DIR --model DIR --db_path DIR|--recordings PATH --out runs/NAME " +
    "(--test_subject N | --all_subjects | --cbramod_split | --cv_folds K)\n\n" +
    "Multinomial logistic regression (L2, standardised, L-BFGS) on mean/max-pooled SAE features and\n" +
    "mean-pooled REVE activations; top-K class-specific masking curves; the probe on REVE\n" +
    "activations scored on the SAE's reconstructions. Results: runs/NAME/probe/*.json.\n" +
    "The pooled activations are saved (probe/pooled_activations.npz, float16, deflated); --pooled\n" +
    "reuses them.",
  flags: flagList(
    SAE_ANALYSIS_FLAGS,
    FLAGS.db_path,
    FLAGS.out,
    RECORDING_FLAGS,
    {
      name: "pooled",
      type: "string",
      help: "reuse a pooled_activations.npz instead of REVE + SAE",
    },
    { name: "test_subject", type: "int", help: "leave-one-subject-out: test on this subject" },
    {
      name: "all_subjects",
      type: "boolean",
      help: "all leave-one-subject-out folds",
      default: false,
    },
    {
      name: "cbramod_split",
      type: "boolean",
      help: "subjects 1–5 train, 6–7 validation (chooses C), 8–9 test",
      default: false,
    },
    FLAGS.cv_folds,
    {
      name: "inputs",
      type: "list",
      help: `probe inputs (${PROBE_INPUTS.join(", ")})`,
      default: ["sae_mean_max", "reve_mean"],
    },
    {
      name: "c",
      type: "number",
      help: "inverse L2 strength (sklearn's C) when not validated",
      default: 1,
    },
    {
      name: "c_grid",
      type: "list",
      help: "C candidates chosen on the validation subjects (CBraMod split)",
      default: DEFAULT_PROBE_FIT.cGrid.map(String),
    },
    { name: "max_iter", type: "int", help: "L-BFGS iterations at most", default: 1000 },
    { name: "tol", type: "number", help: "stop when max |gradient| ≤ tol", default: 1e-5 },
    {
      name: "k_values",
      type: "list",
      help: "top-K curve (features per class; 'all' keeps every feature; empty: no curve)",
      default: ["1", "2", "5", "10", "20", "50", "100", "all"],
    },
    {
      name: "topk_ranking",
      type: "list",
      help: "how features are ranked per class (mean, selectivity)",
      default: ["mean", "selectivity"],
    },
    {
      name: "oracle",
      type: "boolean",
      help: "also PatchSAE's label-leaking curve, labelled oracle",
      default: false,
    },
    TRIAL_LABEL_FLAGS,
  ),
  async main({ values }) {
    const testSubject = optNum(values, "test_subject");
    const chosen: ProbeProtocolKind[] = [];
    if (testSubject !== undefined) chosen.push("loso");
    if (bool(values, "all_subjects")) chosen.push("all_subjects");
    if (bool(values, "cbramod_split")) chosen.push("cbramod_split");
    const cvFolds = optNum(values, "cv_folds");
    if (cvFolds !== undefined) chosen.push("within_subject_cv");
    if (chosen.length !== 1) {
      throw new FlagError(
        "give exactly one of --test_subject N, --all_subjects, --cbramod_split, --cv_folds K",
      );
    }
    const inputs = list(values, "inputs");
    for (const i of inputs) {
      if (!PROBE_INPUTS.includes(i as ProbeInputName)) {
        throw new FlagError(`--inputs: "${i}" is not one of ${PROBE_INPUTS.join(", ")}`);
      }
    }
    const rankings = list(values, "topk_ranking");
    for (const r of rankings) {
      if (r !== "mean" && r !== "selectivity") {
        throw new FlagError(`--topk_ranking: "${r}" is not mean or selectivity`);
      }
    }
    const kValues = list(values, "k_values").map((k) => {
      if (k === "all") return "all" as const;
      const n = Number(k);
      if (!Number.isInteger(n) || n < 1) {
        throw new FlagError(`--k_values: "${k}" is not a positive integer or all`);
      }
      return n;
    });
    const pooled = optStr(values, "pooled");
    await runProbeTask({
      saeDir: pooled ? "" : str(values, "sae"),
      modelDir: pooled ? "" : str(values, "model"),
      dbPath: pooled ? "" : await requiredLmdb(values, join(str(values, "out"), "data")),
      out: str(values, "out"),
      pooled,
      scaling: optStr(values, "scaling") as ScalingMode | undefined,
      hook: optStr(values, "hook"),
      blockLayer: optNum(values, "block_layer"),
      batchSize: num(values, "batch_size"),
      protocol: chosen[0],
      testSubject,
      cvFolds,
      inputs: inputs as ProbeInputName[],
      fit: {
        c: num(values, "c"),
        cGrid: numbers(list(values, "c_grid"), "c_grid"),
        gradientTolerance: num(values, "tol"),
        maxIterations: num(values, "max_iter"),
      },
      kValues,
      rankings: rankings as TopKCriterion[],
      oracle: bool(values, "oracle"),
      classNames: list(values, "class_names"),
      skipBad: bool(values, "skip_bad"),
    });
  },
});
