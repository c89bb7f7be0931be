/**
 * Builds the report site from the fixture run and checks what a reader gets: every page exists
 * with its plots, dead features say so, text from data files is escaped, search and serving work.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFixtureRun } from "./fixtures/fixture_run.ts";
import { lookupPositions } from "../compute/data/montage.ts";
import { buildSite, folderSize } from "../site/tools/build_site.ts";
import { serveStatic } from "../site/tools/static_server.ts";
import { interpolateIdw, projectElectrodes, topomapSvg } from "../site/src/lib/topomap.ts";
import { roundGeometry } from "../site/src/lib/plots.ts";
import { type SearchIndex, searchIndex } from "../site/src/lib/search_index.ts";

const tmp = await Deno.makeTempDir({ prefix: "eeg_sae_site_" });
const runDir = join(tmp, "runs", "fixture");
const out = join(tmp, "dist");
const index = await writeFixtureRun(runDir, {
  d_sae: 24,
  n_trials: 12,
  dead_every: 5,
  trial_pages: 8,
});
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
const alive = index.features.filter((f) => f.alive).map((f) => f.id);
const dead = index.features.filter((f) => !f.alive).map((f) => f.id);
const read = (rel: string) => Deno.readTextFile(join(out, rel));
const DEAD_NOTE = /is <strong[^>]*>dead<\/strong>/;
const includes = (text: string, part: string, what = "") =>
  assert.ok(text.includes(part), `${what} missing ${JSON.stringify(part)}`);

Deno.test({
  name: "site build: every page exists, with its plots, and text from data files is escaped",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const report = await buildSite({ runs: [runDir], out });
    assert.deepEqual(report.runs.length, 1);
    assert.deepEqual(report.runs[0].alive, alive.length);
    // overview, classes, every feature id (alive and dead), every trial
    assert.deepEqual(report.runs[0].pages, 2 + index.d_sae + index.trial_files.length);
    assert.ok(dead.length >= 2 && alive.length >= 10, "fixture must have dead and alive features");

    const overview = await read("index.html");
    // The run name is `fixture <run> & "co"`, the class `tongue <&>`, the command holds <b> tags.
    includes(overview, "fixture &lt;run&gt; &amp;");
    includes(overview, "tongue &lt;&amp;&gt;");
    for (const raw of ["<run>", "tongue <&>", "<b>not bold</b>", "<synthetic>"]) {
      assert.ok(!overview.includes(raw), `overview contains unescaped "${raw}"`);
    }
    // The scatter links each alive feature (and no dead one) to its page.
    const scatter = overview.slice(overview.indexOf('id="feature-scatter"'));
    for (const id of alive) includes(scatter, `href="/features/${id}/"`);
    for (const id of dead) {
      assert.ok(!scatter.includes(`href="/features/${id}/"`), `dead ${id} linked`);
    }
    // The published anchor is drawn on the top-K curve (its label wraps over two lines).
    includes(overview, "REVE-base frozen linear");
    includes(overview, "probe (0.517)");

    for (const id of alive) {
      const page = await read(`features/${id}/index.html`);
      for (
        const section of ["histogram", "per-class", "spectral", "heatmap", "topomap", "traces"]
      ) {
        const at = page.indexOf(`id="${section}"`);
        assert.ok(at >= 0, `feature ${id}: no #${section}`);
        assert.match(page.slice(at, at + 4000), /<svg[^>]*>[\s\S]*<(rect|path|image|circle)/);
      }
      // heatmap: one cell per channel × patch
      const heat = page.slice(page.indexOf('id="heatmap"'), page.indexOf('id="topomap"'));
      assert.deepEqual(
        heat.match(/<rect[^>]*><title>/g)?.length,
        index.channels.length * index.n_patches,
        `feature ${id}: heatmap cells`,
      );
      includes(page, "data:image/png;base64,");
      assert.ok(!page.includes("tongue <&>"), `feature ${id}: unescaped class name`);
      assert.doesNotMatch(page, DEAD_NOTE, `alive feature ${id} says dead`);
    }
    for (const id of dead) {
      const page = await read(`features/${id}/index.html`);
      assert.match(page, DEAD_NOTE);
      assert.ok(!page.includes('id="heatmap"'), `dead feature ${id} has a heatmap`);
    }
    const classes = await read("classes/index.html");
    for (const name of ["left hand", "right hand", "feet", "tongue &lt;&amp;&gt;"]) {
      includes(classes, name);
    }
    for (const t of index.trial_files) {
      const page = await read(`trials/${t}/index.html`);
      includes(page, 'id="trial-eeg"');
      includes(page, 'id="channel-data"');
      // All channels are drawn on the trial page.
      for (const ch of index.channels) includes(page, `>${ch}</text>`);
    }
    // Every internal link of every page leads to a file of the site.
    const pages = (await folderSize(out)).files.filter((f) => f.endsWith(".html"));
    let links = 0;
    for (const p of pages) {
      for (const [, href] of (await read(p)).matchAll(/(?:href|src)="(\/[^"#?]*)/g)) {
        const target = join(out, href.endsWith("/") ? `${href}index.html` : href);
        await Deno.stat(target).catch(() => assert.fail(`${p} links to missing ${href}`));
        links++;
      }
    }
    assert.ok(links > pages.length * 3, `only ${links} links checked`);
    const search = JSON.parse(await read("search.json")) as SearchIndex;
    assert.deepEqual(search.features.map((f) => f[0]), alive);
    assert.deepEqual(search.trials.length, index.trial_files.length);
  },
});

Deno.test({
  name: "site serve: MIME types, folder redirects, no escaping the root",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await serveStatic(out);
    try {
      const get = (p: string) => fetch(server.url + p, { redirect: "manual" });
      const home = await get("");
      assert.deepEqual(home.headers.get("content-type"), "text/html; charset=utf-8");
      includes(await home.text(), "Overview");
      const search = await get("search.json");
      assert.deepEqual(search.headers.get("content-type"), "application/json; charset=utf-8");
      await search.body?.cancel();
      const redirect = await get(`features/${alive[0]}`);
      assert.deepEqual(redirect.status, 301);
      assert.deepEqual(
        new URL(redirect.headers.get("location")!, server.url).pathname,
        `/features/${alive[0]}/`,
      );
      const missing = await get("nope/");
      assert.deepEqual(missing.status, 404);
      await missing.body?.cancel();
      const escape = await get("..%2F..%2Fetc%2Fpasswd");
      assert.ok([400, 403, 404].includes(escape.status), `escape got ${escape.status}`);
      await escape.body?.cancel();
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("topomap: projection puts the vertex at the centre, left left, front up", () => {
  const names = ["Cz", "C3", "C4", "Fz", "Pz"];
  const xyz = lookupPositions(names);
  const rows = names.map((_, c) => [xyz[3 * c], xyz[3 * c + 1], xyz[3 * c + 2]]);
  const [cz, c3, c4, fz, pz] = projectElectrodes(names, rows);
  assert.ok(Math.hypot(cz.x, cz.y) < 0.1, "Cz near the centre");
  assert.ok(c3.x < -0.3 && Math.abs(c3.y) < 0.15, "C3 to the left");
  assert.ok(c4.x > 0.3 && Math.abs(c4.y) < 0.15, "C4 to the right");
  assert.ok(fz.y > 0.3 && pz.y < -0.3, "Fz in front, Pz behind");
  // Azimuthal equidistant: radius = polar angle / 90°, so C3 (≈ 45° from the vertex) ≈ 0.5.
  const polar = Math.acos(rows[1][2] / Math.hypot(...rows[1])) / (Math.PI / 2);
  assert.ok(Math.abs(Math.hypot(c3.x, c3.y) - polar) < 1e-9);
  // IDW reproduces electrode values exactly and stays within their range elsewhere.
  const values = [1, 2, 3, 4, 5];
  const e = [cz, c3, c4, fz, pz];
  assert.deepEqual(interpolateIdw(e, values, c4.x, c4.y), 3);
  const mid = interpolateIdw(e, values, 0.2, 0.2);
  assert.ok(mid > 1 && mid < 5);
  const svg = topomapSvg(names, rows, values, { title: 'a <b> "c"' });
  includes(svg, "a &#60;b&#62; &#34;c&#34;");
  assert.deepEqual(svg.match(/<circle cx=/g)?.length, names.length + 1);
  // The embedded PNG: signature, then an IHDR of the grid size.
  const b64 = svg.match(/base64,([^"]+)"/)![1];
  const png = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10]);
  assert.deepEqual(new DataView(png.buffer).getUint32(16), 96);
});

Deno.test("plots: geometry rounding leaves text alone; search matches ids, channels, classes", () => {
  assert.deepEqual(
    roundGeometry('<path d="M1.23456,7.891L2.05,3"/><text x="1.25">0.125</text>'),
    '<path d="M1.2,7.9L2.1,3"/><text x="1.3">0.125</text>',
  );
  const ix: SearchIndex = {
    classes: ["left hand", "feet"],
    channels: ["C3", "Cz"],
    bands: ["alpha/mu", "beta"],
    features: [[3, 0, 0, 1, 0.1], [12, 1, 1, 0, 0.3], [13, 1, 0, 0, 0.2]],
    trials: [[5, 1, 2]],
  };
  assert.deepEqual(searchIndex(ix, "1", "/").map((h) => h.href), [
    "/features/12/",
    "/features/13/",
  ]);
  assert.deepEqual(searchIndex(ix, "c3", "/").map((h) => h.href), [
    "/features/13/",
    "/features/3/",
  ]);
  assert.deepEqual(searchIndex(ix, "feet", "/b/").map((h) => h.href), [
    "/b/features/12/",
    "/b/features/13/",
  ]);
  assert.deepEqual(searchIndex(ix, "trial 5", "/").map((h) => h.href), ["/trials/5/"]);
  assert.deepEqual(searchIndex(ix, "xyz", "/"), []);
});

Deno.test({
  name: "site build with two runs: each under its own base path, linked from a root index",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const runs = ["alpha", "beta <2>"].map((n) => join(tmp, "multi", n));
    for (const [i, dir] of runs.entries()) {
      await writeFixtureRun(dir, { d_sae: 6, n_trials: 4, seed: 11 + i, name: `run ${i}` });
    }
    const multiOut = join(tmp, "multi_dist");
    const report = await buildSite({ runs, out: multiOut });
    assert.deepEqual(report.runs.map((r) => r.base), ["/alpha/", "/beta-2-/"]);
    const root = await Deno.readTextFile(join(multiOut, "index.html"));
    includes(root, 'href="/alpha/"');
    includes(root, "beta &#60;2&#62;");
    for (const r of report.runs) {
      const overview = await Deno.readTextFile(join(r.dir, "index.html"));
      const firstAlive = JSON.parse(
        await Deno.readTextFile(join(r.run, "features", "index.json")),
      ).features.find((f: { alive: boolean }) => f.alive).id;
      includes(overview, `href="${r.base}features/${firstAlive}/"`, r.base);
      includes(overview, `${r.base}search.json`, r.base);
      await Deno.stat(join(r.dir, "features", String(firstAlive), "index.html"));
    }
  },
});
