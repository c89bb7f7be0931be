/**
 * The built site in a real browser (playwright-core driving Debian's Chromium, headless): the
 * overview's scatter leads to a feature page whose plots are drawn from the data files, the
 * comparison list and page, the search box, and a trial page with its EEG, activation
 * distribution, channel inspector and feature picker; no console errors or failed requests.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFixtureRun } from "./fixtures/fixture_run.ts";
import type { TrialActsChunk } from "../schema/run_folder.ts";
import { buildSite } from "../site/tools/build_site.ts";
import { launchChromium } from "../site/tools/screenshots.ts";
import { serveStatic } from "../site/tools/static_server.ts";

Deno.test({
  name: "site in Chromium: feature, comparison and trial pages drawn in the browser; no errors",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const tmp = await Deno.makeTempDir({ prefix: "eeg_sae_browser_" });
    const runDir = join(tmp, "fixture");
    const index = await writeFixtureRun(runDir, {
      d_sae: 16,
      n_trials: 8,
      dead_every: 5,
      trial_chunk_size: 4,
    });
    await buildSite({ runs: [runDir], out: join(tmp, "dist") });
    const server = await serveStatic(join(tmp, "dist"));
    const browser = await launchChromium();
    const errors: string[] = [];
    const C = index.channels.length;
    const cells = C * index.n_patches;
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(`console: ${m.text()}`);
      });
      page.on("pageerror", (e) => errors.push(`page: ${e.message}`));
      // Leaving a page aborts its fetches still in flight: not a failure of the site (a plot that
      // needed one would be missing, which the checks below see).
      page.on("requestfailed", (r) => {
        const why = r.failure()?.errorText ?? "";
        if (why !== "net::ERR_ABORTED") errors.push(`request: ${r.url()} (${why})`);
      });
      page.on("response", (r) => {
        if (r.status() >= 400) errors.push(`HTTP ${r.status()}: ${r.url()}`);
      });

      await page.goto(server.url);
      const points = page.locator('#feature-scatter svg a[href*="/features/"]');
      const alive = index.features.filter((f) => f.alive).map((f) => f.id);
      assert.equal(await points.count(), alive.length);
      const third = points.nth(2);
      const href = await third.getAttribute("href");
      assert.match(href ?? "", /^\/features\/\d+\/$/);
      await Promise.all([page.waitForURL(`**${href}`), third.locator("circle").click()]);
      const id = Number(href!.split("/")[2]);
      assert.equal(await page.locator("h1").innerText(), `Feature ${id}`);

      // Drawn in the browser: heatmap one cell per channel × patch, topomap field and
      // electrodes, histogram and class bars, traces one line per drawn channel.
      await page.locator("#traces figure.trace").first().waitFor();
      assert.equal(await page.locator("#heatmap-plot svg rect:has(title)").count(), cells);
      assert.equal(await page.locator("#topomap-plot svg.topomap image").count(), 1);
      assert.equal(await page.locator("#topomap-plot svg.topomap circle title").count(), C);
      const box = await page.locator("#topomap-plot svg.topomap image").boundingBox();
      assert.ok(box && box.width > 100 && box.height > 100, "topomap image is drawn at size");
      assert.ok((await page.locator('#histogram-plot svg g[aria-label="rect"] rect').count()) > 5);
      assert.equal(
        await page.locator('#per-class-plot svg g[aria-label="bar"] rect').count(),
        index.class_names.length,
      );
      assert.ok((await page.locator('#spectral-plot svg g[aria-label="bar"] rect').count()) > 0);
      const trace = page.locator("#traces figure.trace").first();
      assert.equal(await trace.locator('svg g[aria-label="line"] path').count(), 6);
      const d = await trace.locator('svg g[aria-label="line"] path').first().getAttribute("d");
      assert.ok((d ?? "").split("L").length > 100, "trace path has many points");
      assert.ok((await trace.locator('svg g[aria-label="rect"] rect').count()) > 0, "shading");
      assert.ok((await page.locator("#top-trials-body tr").count()) >= 3);
      assert.ok((await page.locator("#neighbours a").count()) >= 1);

      // The comparison list: add this feature and the next two, then open the comparison.
      await page.click("#add-compare");
      for (const other of alive.filter((x) => x !== id).slice(0, 2)) {
        await page.goto(`${server.url}features/${other}/`);
        await page.click("#add-compare");
      }
      const compareHref = await page.locator("#compare-link").getAttribute("href");
      const chosen = [id, ...alive.filter((x) => x !== id).slice(0, 2)];
      assert.equal(compareHref, `/compare/?f=${chosen.join(",")}`);
      await page.goto(server.url + compareHref!.slice(1));
      await page.locator(".compare-col").nth(2).locator(".cmp-spectral svg").waitFor();
      assert.deepEqual(
        await page.locator(".compare-col").evaluateAll((cols) =>
          cols.map((c) => Number(c.getAttribute("data-feature")))
        ),
        chosen,
      );
      for (const kind of ["histogram", "perClass", "heatmap", "topomap", "spectral"]) {
        assert.equal(await page.locator(`.compare-col .cmp-${kind}:has(svg)`).count(), 3, kind);
      }
      // Side by side: three columns at the same height.
      const tops = await page.locator(".compare-col").evaluateAll((cols) =>
        cols.map((c) => Math.round(c.getBoundingClientRect().top))
      );
      assert.equal(new Set(tops).size, 1, `columns at ${tops}`);

      // Search: a channel name lists features; "trial 3" offers trial 3 first; Enter opens it.
      await page.fill("#search-box", "C3");
      await page.locator(".search-results a").first().waitFor();
      await page.fill("#search-box", "trial 3");
      await page.locator('.search-results a[href="/trials/3/"]').waitFor();
      assert.equal(
        await page.locator(".search-results a").first().getAttribute("href"),
        "/trials/3/",
      );
      await Promise.all([page.waitForURL("**/trials/3/"), page.press("#search-box", "Enter")]);

      // Trial page: all channels of EEG, the distribution with the top 10 listed and linked.
      const chunk = JSON.parse(
        await Deno.readTextFile(join(runDir, "features", "trial_acts", "0.json")),
      ) as TrialActsChunk;
      const acts = chunk.trials[3];
      await page.locator('#trial-eeg-plot svg g[aria-label="line"] path').first().waitFor();
      assert.equal(await page.locator('#trial-eeg-plot svg g[aria-label="line"] path').count(), C);
      for (const ch of index.channels) {
        assert.ok(
          (await page.locator("#trial-eeg-plot svg text", { hasText: ch }).count()) >= 1,
          `EEG row ${ch}`,
        );
      }
      const topIds = acts.top.slice(0, 10).map((t) => `/features/${t[0]}/`);
      assert.deepEqual(
        await page.locator("#distribution-list a").evaluateAll((as) =>
          as.map((a) => a.getAttribute("href"))
        ),
        topIds,
      );
      assert.equal(
        await page.locator("#distribution-plot svg a").count(),
        topIds.length,
      );
      assert.equal(await page.locator("#tokens-plot svg rect:has(title)").count(), cells);

      // Feature picker: the second mapped feature's map in this trial, scalp map, class bars.
      const j = 1;
      const [pickedId, , pickedMax] = acts.top[j];
      await page.selectOption("#feature-picker", String(j));
      await page.locator("#picked-class svg").waitFor();
      await page.locator("#picked-link", { hasText: `feature ${pickedId}` }).waitFor();
      const titles = await page.locator("#picked-map svg rect title").allTextContents();
      assert.equal(titles.length, cells);
      const peak = acts.maps[j].indexOf(255);
      const ch = index.channels[Math.floor(peak / index.n_patches)];
      assert.ok(
        titles.some((t) => t.startsWith(`${ch},`) && t.includes(`: ${pickedMax.toPrecision(3)} `)),
        `peak ${pickedMax} on ${ch}`,
      );
      assert.equal(await page.locator("#picked-scalp svg.topomap image").count(), 1);
      assert.equal(
        await page.locator('#picked-class svg g[aria-label="bar"] rect').count(),
        index.class_names.length + 1,
      );
      assert.equal(
        await page.locator("#picked-class svg text", { hasText: "this trial" }).count(),
        1,
      );

      // Channel inspector: a channel lists that channel's top features from trial_acts.
      for (const channel of ["C4", "Fz"]) {
        await page.selectOption("#channel-select", { label: channel });
        const want = acts.channel_top[index.channels.indexOf(channel)].map(([f]) => String(f));
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
