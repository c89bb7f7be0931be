/**
 * `deno run -A site/tools/astro_build.ts ROOT OUT_DIR BASE LOG_LEVEL`: Astro's build in this
 * process, which ends when the site command that started it is killed, so no orphan goes on
 * writing into a folder the next build has already cleaned away.
 */
import { exitWithParent } from "../../compute/util/exit_with_parent.ts";

// Watching before Astro loads (seconds), so a killed site command leaves no orphan at any point.
const stopWatching = exitWithParent("the site command");
const { build } = await import("astro");
const [root, outDir, base, logLevel] = Deno.args;
try {
  await build({ root, outDir, base, logLevel: logLevel === "info" ? "info" : "error" });
} catch (e) {
  // The message names the page and the file that failed; the stack is Astro's internals.
  const err = e as Error;
  console.error(Deno.env.get("EEG_SAE_DEBUG") ? err : `${err.name}: ${err.message}`);
  Deno.exit(1);
} finally {
  stopWatching();
}
