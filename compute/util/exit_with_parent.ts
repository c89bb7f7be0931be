/**
 * Ends this process when the process that started it is gone. `deno task NAME` runs the command
 * as a child; if the task process is killed (kill -9 leaves no chance to forward a signal), the
 * child would go on alone, e.g. a second writer of a checkpoint once the user starts the task
 * again. Also used by the site build's Astro process, whose parent is the site command.
 *
 * The check runs in a worker: a main thread busy for seconds (a GPU step, Astro rendering pages)
 * would delay a timer on its own event loop.
 */

/** Starts watching; the returned function stops it (the worker would keep the process alive). */
export function exitWithParent(why: string): () => void {
  const worker = new Worker(new URL("./parent_watch_worker.ts", import.meta.url), {
    type: "module",
  });
  worker.postMessage({ parent: Deno.ppid, why });
  return () => worker.terminate();
}

/** Under `deno task` (which sets INIT_CWD, as npm run does), exits with the task process. */
export function exitWithTask(): () => void {
  if (Deno.env.get("INIT_CWD") === undefined) return () => {};
  return exitWithParent("the deno task that started this");
}
