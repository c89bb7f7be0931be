/**
 * Ends this process when the process that started it is gone. `deno task NAME` runs the command
 * as a child; if the task process is killed (kill -9 leaves no chance to forward a signal), the
 * child would go on alone, e.g. a second writer of a checkpoint once the user starts the task
 * again. Also used by the site build's Astro process, whose parent is the site command.
 */

/** How often the parent is checked; the timer does not keep the process alive. */
const POLL_MS = 500;

export function exitWithParent(why: string): void {
  const parent = Deno.ppid;
  const id = setInterval(() => {
    if (Deno.ppid === parent) return;
    console.error(`error: ${why} has stopped (process ${parent}); stopping too`);
    Deno.exit(1);
  }, POLL_MS);
  Deno.unrefTimer(id);
}

/** Under `deno task` (which sets INIT_CWD, as npm run does), exits with the task process. */
export function exitWithTask(): void {
  if (Deno.env.get("INIT_CWD") !== undefined) exitWithParent("the deno task that started this");
}
