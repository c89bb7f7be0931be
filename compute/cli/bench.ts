/** `deno task bench`: kernel throughput against the adapter's FMA peak and onnxruntime-web. */
import { bool, list, num } from "./flags.ts";
import { flagList } from "./flag_registry.ts";
import { runCli } from "./run_cli.ts";
import { BENCH_SECTIONS, runBench } from "../bench/run_bench.ts";
import {
  DEFAULT_PIPELINE_SLICE,
  PIPELINE_SECTION_NAME,
  pipelineSection,
  SLICE_TRIAL_STEP,
} from "../pipeline/pipeline_bench.ts";

const SECTION_NAMES = [...BENCH_SECTIONS.map((s) => s.name), PIPELINE_SECTION_NAME];

await runCli({
  usage: "deno task bench [--quick] [--json] [--no_ort] [--autotune] [--full_shapes] " +
    "[--only SECTION,...] [--pipeline_trials N] [--pipeline_steps N] [--no_pipeline_site]",
  flags: flagList(
    {
      name: "quick",
      type: "boolean",
      help: "fewer runs; skip the slowest comparisons",
      default: false,
    },
    {
      name: "json",
      type: "boolean",
      help: "print one JSON object on stdout (the tables go to stderr)",
      default: false,
    },
    { name: "no_ort", type: "boolean", help: "do not race onnxruntime-web", default: false },
    {
      name: "autotune",
      type: "boolean",
      help: "time candidate matmul tiles first (cached in ~/.cache/eeg-sae/) and use the fastest",
      default: false,
    },
    {
      name: "full_shapes",
      type: "boolean",
      help: "SAE step at d_in 512, d_sae 8192, 4096 tokens even on a software adapter (minutes)",
      default: false,
    },
    {
      name: "only",
      type: "list",
      help: "sections to run (the FMA peak always runs)",
      choices: SECTION_NAMES,
    },
    {
      name: "pipeline_trials",
      type: "int",
      help: `pipeline section: synthetic trials in the slice (a multiple of ${SLICE_TRIAL_STEP})`,
      default: DEFAULT_PIPELINE_SLICE.trials,
    },
    {
      name: "pipeline_steps",
      type: "int",
      help: "pipeline section: SAE training steps in the slice",
      default: DEFAULT_PIPELINE_SLICE.saeSteps,
    },
    {
      name: "pipeline_site",
      type: "boolean",
      help: "pipeline section: build the site (a page per feature: 8192 pages, its longest stage)",
      default: DEFAULT_PIPELINE_SLICE.site,
    },
  ),
  async main({ values }) {
    const json = bool(values, "json");
    const pipeline = pipelineSection({
      trials: num(values, "pipeline_trials"),
      saeSteps: num(values, "pipeline_steps"),
      site: bool(values, "pipeline_site"),
    });
    const results = await runBench({
      sections: [...BENCH_SECTIONS, pipeline],
      quick: bool(values, "quick"),
      ort: !bool(values, "no_ort"),
      autotune: bool(values, "autotune"),
      fullShapes: bool(values, "full_shapes"),
      only: list(values, "only"),
      // With --json, stdout holds only the JSON object; the tables still show progress on stderr.
      log: json ? (line) => console.error(line) : (line) => console.log(line),
    });
    if (json) console.log(JSON.stringify(results));
  },
});
