/** `deno task site`: build the site, report time and size per 1,000 features, optionally screenshot it. */
import { join } from "node:path";
import { buildSite, type SiteBuildReport } from "./build_site.ts";
import { takeScreenshots } from "./screenshots.ts";
import { validateFeatureIndex } from "../../schema/run_folder.ts";

export interface SiteCommandOptions {
  runs: string[];
  out?: string;
  screenshots: boolean;
}

export function describeBuild(report: SiteBuildReport): string {
  return report.runs.map((r) => {
    const perK = 1000 / Math.max(1, r.alive);
    return `${r.run} → ${r.dir} (base ${r.base}): ${r.pages} pages (${r.trial_pages} trials), ` +
      `${r.alive} alive of ${r.features} features, ` +
      `${r.seconds.toFixed(1)} s, ${(r.bytes / 1e6).toFixed(1)} MB (data files ` +
      `${(r.data_bytes / 1e6).toFixed(1)} MB, trial pages ${
        (r.trial_bytes / 1e6).toFixed(1)
      } MB, ` +
      `feature pages ${(r.feature_bytes / 1e6).toFixed(1)} MB, median ${
        (r.feature_page_median / 1e3).toFixed(1)
      } KB, ${(r.feature_bytes * perK / 1e6).toFixed(1)} MB per 1,000 alive ` +
      `features; build time per 1,000 alive features ${
        (r.seconds * perK).toFixed(1)
      } s including Astro's fixed start-up)`;
  }).join("\n");
}

export async function siteCommand(opts: SiteCommandOptions): Promise<SiteBuildReport> {
  const report = await buildSite({ runs: opts.runs, out: opts.out });
  console.log(describeBuild(report));
  if (opts.screenshots) {
    const first = report.runs[0];
    const indexPath = join(first.run, "features", "index.json");
    const index = validateFeatureIndex(JSON.parse(await Deno.readTextFile(indexPath)), indexPath);
    const alive = index.features.find((f) => f.alive);
    const files = await takeScreenshots(
      first.dir,
      join(first.dir, "screenshots"),
      alive?.id ?? 0,
      index.n_trials > 0 ? 0 : null,
    );
    console.log(`screenshots: ${files.join(", ")}`);
  }
  console.log(`serve it with: deno task serve --dir ${report.out}`);
  return report;
}
