/**
 * @module
 * The command line: one entry point per `deno task` (bench.ts, data.ts, demo.ts, export_onnx.ts,
 * extract.ts, features.ts, probe.ts, serve.ts, site.ts, train.ts) and compute/cli/planted.ts,
 * each declaring its flags and calling one function of a lower layer. {@link runCli} parses the
 * flags (snake_case as the earlier Python pipeline spelt them, or kebab-case), prints `--help`,
 * and turns any error into one readable line and exit status 1.
 *
 * The entry points run when executed and are not imported; this module exports only the runner.
 *
 * ```ts
 * import { runCli } from "./mod.ts";
 *
 * await runCli({
 *   usage: "deno run -A hello.ts --name NAME",
 *   flags: [{ name: "name", type: "string", help: "who to greet", default: "EEG" }],
 *   main: ({ values }) => console.log(`hello ${values.name}`),
 * });
 * ```
 */
export { runCli } from "./run_cli.ts";
