// The report site's Astro config; `deno task site` passes the run, output folder and base path.
import { defineConfig } from "astro/config";

export default defineConfig({
  output: "static",
  // One shared stylesheet file instead of a copy inlined in each of thousands of pages.
  build: { format: "directory", inlineStylesheets: "never" },
  devToolbar: { enabled: false },
});
