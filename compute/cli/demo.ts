/** `deno task demo`: the whole pipeline on the embedded default, or on real inputs. */
import { bool, list, num, optNum, optStr, str } from "./flags.ts";
import {
  flagList,
  FLAGS,
  recordingOptionsFrom,
  SAE_TRAINING_FLAGS,
  withDefaults,
} from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { DEMO_SIZE_NAMES, type DemoSize, runDemo } from "../pipeline/demo.ts";
import type { ScalingMode } from "../data/trials.ts";
import type { SaeArchitecture } from "../sae/config.ts";

/** The SAE settings that override any `--size` preset, worded as `train` words them. */
const PRESET_OVERRIDES = [
  "architecture",
  "expansion_factor",
  "total_training_tokens",
  "l1_coefficient",
];
const PRESET_NOTE = { note: "the --size preset's" };

await runCli({
  usage:
    "deno task demo [--out runs/demo] [--size tiny|small|full|reve-base] [--model REVE] [--db_path DIR | --recordings FILE|DIR,...]\n\n" +
    "Without --model, a REVE of random weights; without --db_path or --recordings, synthetic BCIC2a-shaped trials.\n\n" +
    "--size reve-base is the earlier pipeline's job: reve-base widths (D 512, 22 blocks), 5,184 trials,\n" +
    "block -2, d_sae 8192, 500,000 training tokens; relu in the settings measured at these widths (l1\n" +
    "3e-4, lr 2e-3, steps of 512, ghost grads after 5 silent steps, decoder fine-tuning; the earlier\n" +
    "pipeline's l1 1e-4, lr 3e-4 stayed dense). On this project's 2-core llvmpipe machine it takes hours:\n" +
    "about 4 h idle, over 9 h under load, PROJECTED from measured slices (REVE forward 2.2 trials/s idle,\n" +
    "0.72 loaded, four passes over the trials; relu training 100 tokens/s in steps of 512; see the\n" +
    'README, "--size reve-base"). Untimed on a GPU, where it should take minutes.\n\n' +
    "--size full trains BatchTopK (k 64, AuxK after 25 silent steps, lr 2e-3), the settings measured at\n" +
    "d_sae 8192; --architecture batchtopk takes them at reve-base too. --architecture relu at full takes\n" +
    "l1 6e-3 in steps of 512 and fine-tunes the decoder over the last tenth of its tokens (measured:\n" +
    "explained variance 0.82 at L0 62, 1.7 % dead; at reve-base widths, on a slice, 0.86 at L0 72,\n" +
    "4.1 % dead).",
  flags: flagList(
    withDefaults([FLAGS.out, FLAGS.seed], { out: "runs/demo", seed: 2026 }),
    {
      name: "size",
      type: "string",
      help: "synthetic data and model size",
      choices: DEMO_SIZE_NAMES,
      default: "small",
    },
    FLAGS.model,
    FLAGS.db_path,
    FLAGS.recordings,
    FLAGS.channels,
    FLAGS.events,
    FLAGS.window,
    FLAGS.label_file,
    FLAGS.scaling,
    withDefaults([FLAGS.cv_folds], { cv_folds: { note: "5 when the data hold one subject" } }),
    { name: "site", type: "boolean", help: "build the report site", default: true },
    withDefaults(
      SAE_TRAINING_FLAGS.filter((f) => PRESET_OVERRIDES.includes(f.name)),
      Object.fromEntries(PRESET_OVERRIDES.map((name) => [name, PRESET_NOTE])),
    ),
  ),
  main: async ({ values }) => {
    await runDemo({
      out: str(values, "out"),
      size: str(values, "size") as DemoSize,
      model: optStr(values, "model"),
      dbPath: optStr(values, "db_path"),
      recordings: list(values, "recordings"),
      recordingOptions: recordingOptionsFrom(values),
      cvFolds: optNum(values, "cv_folds"),
      scaling: str(values, "scaling") as ScalingMode,
      seed: num(values, "seed"),
      site: bool(values, "site"),
      overrides: {
        architecture: optStr(values, "architecture") as SaeArchitecture | undefined,
        expansionFactor: optNum(values, "expansion_factor"),
        totalTrainingTokens: optNum(values, "total_training_tokens"),
        l1Coefficient: optNum(values, "l1_coefficient"),
      },
      argv: Deno.args,
    });
  },
});
