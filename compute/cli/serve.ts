/** `deno task serve [--dir site/dist] [--port 8000]`: host a built site on 127.0.0.1. */
import { num, str } from "./flags.ts";
import { runCli } from "./run_cli.ts";
import { serveStatic } from "../../site/tools/static_server.ts";

await runCli({
  usage: "deno task serve [--dir site/dist] [--port 8000]",
  flags: [
    { name: "dir", type: "string", help: "built site folder", default: "site/dist" },
    { name: "port", type: "int", help: "port on 127.0.0.1 (0 picks a free one)", default: 8000 },
  ],
  main: async ({ values }) => {
    const server = await serveStatic(str(values, "dir"), num(values, "port"));
    console.log(`serving ${str(values, "dir")} at ${server.url} (Ctrl-C to stop)`);
    // Serving is this command's whole run (and keeps its parent watch going).
    await server.finished;
  },
});
