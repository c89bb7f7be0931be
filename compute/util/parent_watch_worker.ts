/** Worker of exit_with_parent.ts: polls the parent process id and ends the process when it changes. */

/** How often the parent is checked. */
const POLL_MS = 300;

globalThis.addEventListener("message", (e) => {
  const { parent, why } = (e as MessageEvent<{ parent: number; why: string }>).data;
  setInterval(() => {
    if (Deno.ppid === parent) return;
    console.error(`error: ${why} has stopped (process ${parent}); stopping too`);
    // Deno.exit here would end only this worker; the signal ends the whole process.
    Deno.kill(Deno.pid, "SIGTERM");
  }, POLL_MS);
});
