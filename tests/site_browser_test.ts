/**
 * The built site in a real browser (playwright-core driving Debian's Chromium, headless): open the
 * overview, click a point of the feature scatter, land on that feature's page, find the heatmap,
 * topomap and traces drawn, use the search box and the trial page's channel inspector, and see
 * no console errors anywhere.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFixtureRun } from "./fixtures/fixture_run.ts";
import type { TrialDetail } from "../schema/run_folder.ts";
import { buildSite } from "../site/tools/build_site.ts";
import { launchChromium } from "../site/tools/screenshots.ts";
import { serveStatic } from "../site/tools/static_server.ts";

Deno.test({
  name: "site in Chromium: scatter click → feature page with heatmap, topomap, traces; no errors",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "eeg_sae_browser_" });
    const runDir = join(tmp, "fixture");
    const index = await writeFixtureRun(runDir, { d_sae: 16, n_trials: 8, dead_every: 5 });
    await buildSite({ runs: [runDir], out: join(tmp, "dist") });
    const server = await serveStatic(join(tmp, "dist"));
    const browser = await launchChromium();
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
      page.on("requestfailed", (r) => errors.push(`request: ${r.url()}`));
      page.on("response", (r) => {
        if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
      });

      await page.goto(server.url);
      const points = page.locator('#feature-scatter svg a[href*="/features/"]');
      const aliveCount = index.features.filter((f) => f.alive).length;
      assert.equal(await points.count(), aliveCount);
      const third = points.nth(2);
      const href = await third.getAttribute("href");
      assert.match(href ?? "", /^\/features\/\d+\/$/);
      await Promise.all([page.waitForURL(`**${href}`), third.locator("circle").click()]);
      const id = Number(href!.split("/")[2]);
      assert.equal(await page.locator("h1").innerText(), `Feature ${id}`);

      // Heatmap: one cell per channel × patch; topomap: the field image and every electrode;
      // traces: one line per drawn channel.
      assert.equal(
        await page.locator("#heatmap svg rect:has(title)").count(),
        index.channels.length * index.n_patches,
      );
      assert.equal(await page.locator("#topomap svg.topomap image").count(), 1);
      assert.equal(
        await page.locator("#topomap svg.topomap circle title").count(),
        index.channels.length,
      );
      const box = await page.locator("#topomap svg.topomap image").boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, "topomap image is drawn at size");
      const traces = page.locator("#traces figure.trace");
      assert.ok((await traces.count()) >= 1, "at least one top trial is traced");
      assert.equal(await traces.first().locator('svg g[aria-label="line"] path').count(), 6);
      const d = await traces.first().locator('svg g[aria-label="line"] path').first().getAttribute(
        "d",
      );
      assert.ok((d ?? "").split("L").length > 100, "trace path has many points");

      // Search box (client-side island): a channel name lists features, Enter opens the first.
      await page.fill("#search-box", "C3");
      await page.locator(".search-results a").first().waitFor();
      assert.ok((await page.locator(".search-results a").count()) >= 1);
      await page.fill("#search-box", "trial 3");
      await page.locator('.search-results a[href="/trials/3/"]').waitFor();
      await Promise.all([page.waitForURL("**/trials/3/"), page.press("#search-box", "Enter")]);

      // Channel inspector (island): choosing a channel lists that channel's top features from
      // the trial file.
      const trial = JSON.parse(
        await Deno.readTextFile(join(runDir, "features", "trials", "3.json")),
      ) as TrialDetail;
      for (const channel of ["C4", "Fz"]) {
        await page.selectOption("#channel-select", { label: channel });
        const want = trial.channel_top_features[index.channels.indexOf(channel)].map(([f]) =>
          String(f)
        );
        assert.deepEqual(await page.locator("#channel-features a").allInnerTexts(), want);
      }
      // A dead feature's URL says it is dead.
      const deadId = index.features.find((f) => !f.alive)!.id;
      await page.goto(`${server.url}features/${deadId}/`);
      assert.match(await page.locator(".dead-note").innerText(), /dead/);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
