/**
 * `deno task data synth|inspect|export`: make the synthetic motor-imagery LMDB, describe a
 * dataset, or export it (optionally preprocessed) to one `.npz`.
 */
import { bool, FlagError, type FlagSpec, type FlagValues, num, optNum, str } from "./flags.ts";
import {
  flagList,
  FLAGS,
  pairFrom,
  SOURCE_FLAGS,
  sourceSpecFrom,
  withDefaults,
} from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { exportTrials } from "../data/export.ts";
import { formatInspectReport, inspectSource } from "../data/inspect.ts";
import { openTrialSource } from "../data/open_source.ts";
import { type PreprocessOptions, REVE_SFREQ } from "../data/preprocess.ts";
import { SYNTHETIC_DEFAULTS } from "../data/synthetic.ts";
import { writeSyntheticDataset } from "../data/synthetic_dataset.ts";
import type { ScalingMode } from "../data/trials.ts";

const flags: FlagSpec[] = flagList(
  FLAGS.out,
  SOURCE_FLAGS,
  withDefaults([FLAGS.seed], { seed: SYNTHETIC_DEFAULTS.seed }),
  {
    name: "subjects",
    type: "int",
    help: "synth: number of subjects",
    default: SYNTHETIC_DEFAULTS.subjects,
  },
  {
    name: "trials_per_class",
    type: "int",
    help: "synth: trials per class per session (288 trials/session at 72)",
    default: SYNTHETIC_DEFAULTS.trialsPerClass,
  },
  {
    name: "seconds",
    type: "number",
    help: "synth: trial length",
    default: SYNTHETIC_DEFAULTS.seconds,
  },
  { name: "resample", type: "number", help: `export: resample to this rate (REVE: ${REVE_SFREQ})` },
  { name: "bandpass", type: "list", help: "export: zero-phase band-pass low,high in Hz" },
  withDefaults([FLAGS.scaling], { scaling: "none" }),
  {
    name: "euclidean_alignment",
    type: "boolean",
    help: "export: align per subject",
    default: false,
  },
);

function preprocessOptions(v: FlagValues, sourceSfreq: number): PreprocessOptions | undefined {
  const scaling = str(v, "scaling") as ScalingMode;
  const options: PreprocessOptions = {
    sfreq: optNum(v, "resample") ?? sourceSfreq,
    bandpass: pairFrom(v, "bandpass") ?? null,
    scaling,
    euclideanAlignment: bool(v, "euclidean_alignment"),
  };
  const untouched = options.sfreq === sourceSfreq && !options.bandpass && scaling === "none" &&
    !options.euclideanAlignment;
  return untouched ? undefined : options;
}

await runCli({
  usage: "deno task data <synth|inspect|export> [flags]\n" +
    "  synth   --out DIR [--subjects 9 --trials_per_class 72 --sfreq 200 --seed N]\n" +
    "  inspect --db_path DIR | --recordings FILE|DIR[,...] [--channels ... --events ... --window a,b]\n" +
    "  export  --db_path DIR | --recordings FILE|DIR[,...] --out trials.npz [--resample 200 ...]",
  flags,
  main: async ({ values: v, positionals }) => {
    const command = positionals[0];
    if (positionals.length !== 1) {
      throw new FlagError(
        `expected one subcommand (synth, inspect or export), got "${positionals.join(" ")}"`,
      );
    }
    if (command === "synth") {
      const s = await writeSyntheticDataset(str(v, "out"), {
        seed: num(v, "seed"),
        subjects: num(v, "subjects"),
        trialsPerClass: num(v, "trials_per_class"),
        sfreq: optNum(v, "sfreq") ?? SYNTHETIC_DEFAULTS.sfreq,
        seconds: num(v, "seconds"),
      });
      console.log(
        `wrote ${s.trials} trials (${(s.bytes / 2 ** 20).toFixed(1)} MiB) to ${s.path} in ` +
          `${s.seconds.toFixed(1)} s, with dataset.json and ground_truth.json`,
      );
    } else if (command === "inspect") {
      const source = await openTrialSource(sourceSpecFrom(v));
      try {
        console.log(formatInspectReport(await inspectSource(source)));
      } finally {
        source.close();
      }
    } else if (command === "export") {
      const out = str(v, "out");
      const source = await openTrialSource(sourceSpecFrom(v));
      try {
        const s = await exportTrials(source, out, preprocessOptions(v, source.sfreq));
        console.log(`wrote ${s.out}: eeg [${s.shape}] at ${s.sfreq} Hz`);
      } finally {
        source.close();
      }
    } else {
      throw new FlagError(`unknown subcommand "${command}" (expected synth, inspect or export)`);
    }
  },
});
