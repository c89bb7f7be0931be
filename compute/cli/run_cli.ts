/** Runs a CLI entry point: prints errors as one clear message and exits non-zero. */
import {
  FlagError,
  type FlagSpec,
  helpText,
  optStr,
  type ParsedFlags,
  parseFlags,
} from "./flags.ts";
import { flagList, FLAGS, LEGACY_FLAGS } from "./flag_registry.ts";
import { NoAdapterError } from "../gpu/device.ts";
import { exitWithTask } from "../util/exit_with_parent.ts";

export interface CliSpec {
  usage: string;
  flags: readonly FlagSpec[];
  main: (parsed: ParsedFlags) => Promise<void> | void;
}

export async function runCli(spec: CliSpec, args: string[] = Deno.args): Promise<void> {
  const stopWatching = exitWithTask();
  try {
    // Every command runs on the GPU, so each takes --adapter without declaring it.
    const flags = flagList(spec.flags, FLAGS.adapter);
    const parsed = parseFlags(args, flags, LEGACY_FLAGS);
    if (parsed.help) {
      console.log(helpText(spec.usage, flags, LEGACY_FLAGS));
      return;
    }
    for (const note of parsed.notes) console.error(note);
    const adapter = optStr(parsed.values, "adapter");
    if (adapter !== undefined) Deno.env.set("EEG_SAE_ADAPTER", adapter);
    await spec.main(parsed);
  } catch (e) {
    const err = e as Error;
    if (err instanceof NoAdapterError) console.error(err.message);
    else if (err instanceof FlagError) {
      const command = spec.usage.match(/^deno task [\w-]+/)?.[0] ?? "the command";
      console.error(`error: ${err.message} (${command} --help lists the flags)`);
    } else if (Deno.env.get("EEG_SAE_DEBUG")) console.error(err);
    else {console.error(
        `error: ${err.name && err.name !== "Error" ? err.name + ": " : ""}${err.message}`,
      );}
    Deno.exit(1);
  } finally {
    stopWatching();
  }
}
