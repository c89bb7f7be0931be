/**
 * Builds the report site from the fixture run and checks what a reader gets: a page for every
 * feature (dead ones say so) and every trial, each a small shell with its stats escaped; the data
 * files the pages draw from, valid and faithful to the run; search, serving and several runs.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeFixtureRun } from "./fixtures/fixture_run.ts";
import { lookupPositions } from "../compute/data/montage.ts";
import {
  decodeEegChunk,
  type FeatureChunk,
  shapeOf,
  trialsInChunk,
  type TrialTable,
  validateFeatureDetail,
  validateTrialActsChunk,
} from "../schema/run_folder.ts";
import { buildSite, folderSize } from "../site/tools/build_site.ts";
import { serveStatic } from "../site/tools/static_server.ts";
import { interpolateIdw, projectElectrodes, topomapSvg } from "../site/src/lib/topomap.ts";
import { roundGeometry } from "../site/src/lib/plots.ts";
import { type SearchIndex, searchIndex } from "../site/src/lib/search_index.ts";
import {
  decodeEeg8,
  eeg8Bytes,
  eeg8Rows,
  requantiseRow,
  type SiteMeta,
} from "../site/src/lib/site_data.ts";
import { parseFeatureList } from "../site/src/lib/compare_list.ts";

/** Upper bound on a feature or trial page's HTML (the plots are drawn in the browser). */
const PAGE_LIMIT = 60_000;

const tmp = await Deno.makeTempDir({ prefix: "eeg_sae_site_" });
const runDir = join(tmp, "runs", "fixture");
const out = join(tmp, "dist");
const index = await writeFixtureRun(runDir, {
  d_sae: 24,
  n_trials: 12,
  dead_every: 5,
  chunk_size: 8,
  trial_chunk_size: 5,
});
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));
const alive = index.features.filter((f) => f.alive).map((f) => f.id);
const dead = index.features.filter((f) => !f.alive).map((f) => f.id);
const read = (rel: string) => Deno.readTextFile(join(out, rel));
const readRun = async (rel: string) =>
  JSON.parse(await Deno.readTextFile(join(runDir, "features", rel)));
const DEAD_NOTE = /is <strong[^>]*>dead<\/strong>/;
const includes = (text: string, part: string, what = "") =>
  assert.ok(text.includes(part), `${what} missing ${JSON.stringify(part)}`);

Deno.test({
  name: "site build: a small page for every feature and trial, text from data files escaped",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const report = await buildSite({ runs: [runDir], out });
    const r = report.runs[0];
    assert.deepEqual(r.alive, alive.length);
    // overview, classes, compare, every feature id (alive and dead), every trial
    assert.deepEqual(r.pages, 3 + index.d_sae + index.n_trials);
    assert.deepEqual(r.trial_pages, index.n_trials);
    assert.ok(dead.length >= 2 && alive.length >= 10, "fixture must have dead and alive features");
    assert.ok(r.feature_page_median > 0 && r.feature_page_median <= PAGE_LIMIT);

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
    for (let t = 0; t < index.n_trials; t++) includes(overview, `href="/trials/${t}/"`);

    for (const id of alive) {
      const page = await read(`features/${id}/index.html`);
      const f = index.features[id];
      assert.ok(page.length <= PAGE_LIMIT, `feature ${id}: ${page.length} bytes`);
      includes(page, `<title>Feature ${id} ·`);
      includes(page, `data-feature="${id}"`);
      for (const part of ["histogram-plot", "per-class-plot", "heatmap-plot", "topomap-plot"]) {
        includes(page, `id="${part}"`, `feature ${id}`);
      }
      includes(page, 'id="add-compare"');
      // Stats from index.json, the class name escaped.
      includes(page, `<b>${(100 * f.sparsity).toFixed(1)}%</b>of tokens fire`, `feature ${id}`);
      if (f.top_class === 3) includes(page, "<b>tongue &#60;&#38;&#62;</b>top class");
      assert.ok(!page.includes("tongue <&>"), `feature ${id}: unescaped class name`);
      assert.ok(!page.includes("@@"), `feature ${id}: a slot is left`);
      assert.doesNotMatch(page, DEAD_NOTE, `alive feature ${id} says dead`);
      const at = alive.indexOf(id);
      if (at > 0) includes(page, `href="/features/${alive[at - 1]}/">← feature ${alive[at - 1]}`);
      if (at < alive.length - 1) includes(page, `href="/features/${alive[at + 1]}/">feature`);
    }
    for (const id of dead) {
      const page = await read(`features/${id}/index.html`);
      assert.match(page, DEAD_NOTE);
      assert.ok(!page.includes('id="feature-page"'), `dead feature ${id} draws plots`);
    }
    const table = await readRun("trials.json") as TrialTable;
    for (let t = 0; t < index.n_trials; t++) {
      const page = await read(`trials/${t}/index.html`);
      assert.ok(page.length <= PAGE_LIMIT, `trial ${t}: ${page.length} bytes`);
      includes(page, `data-trial="${t}" data-label="${table.labels[t]}"`);
      includes(page, `<code>${table.keys[t]}</code>`, `trial ${t}`);
      includes(
        page,
        `<b>${Number(table.reconstruction[t][0].toPrecision(3))}</b>reconstruction MSE`,
      );
      includes(page, 'id="feature-picker"');
      for (const ch of index.channels) includes(page, `>${ch}</option>`);
      assert.ok(!page.includes("@@"), `trial ${t}: a slot is left`);
    }
    await assert.rejects(Deno.stat(join(out, "shell")), Deno.errors.NotFound);
    const classes = await read("classes/index.html");
    for (const name of ["left hand", "right hand", "feet", "tongue &lt;&amp;&gt;"]) {
      includes(classes, name);
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
    assert.deepEqual(search.trials.keys, table.keys);
    assert.deepEqual(search.trials.labels, table.labels);
  },
});

Deno.test({
  name: "site data files: meta, one file per alive feature, trial_acts as written, int8 EEG",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const shape = shapeOf(index);
    const meta = JSON.parse(await read("data/meta.json")) as SiteMeta;
    assert.deepEqual(meta.channels, index.channels);
    assert.deepEqual(meta.class_names, index.class_names);
    assert.deepEqual(meta.alive, alive);
    assert.deepEqual(meta.trial_acts, index.trial_store);
    assert.equal(meta.n_samples, index.n_samples);
    const xyz = lookupPositions(index.channels);
    meta.positions.forEach((p, c) =>
      p.forEach((v, k) => assert.ok(Math.abs(v - xyz[3 * c + k]) < 1e-6))
    );
    // Feature details: the run's chunks split per feature, nothing for dead ones.
    for (const id of alive) {
      const detail = validateFeatureDetail(
        JSON.parse(await read(`data/features/${id}.json`)),
        shape,
      );
      const chunk = await readRun(`chunks/${Math.floor(id / 8)}.json`) as FeatureChunk;
      assert.deepEqual(detail, chunk.features.find((d) => d.id === id));
    }
    for (const id of dead) {
      await assert.rejects(Deno.stat(join(out, "data", "features", `${id}.json`)));
    }
    for (let k = 0; k < index.trial_store.n_chunks; k++) {
      const text = await read(`data/trial_acts/${k}.json`);
      validateTrialActsChunk(JSON.parse(text), shape, index.trial_store, index.n_trials);
      assert.equal(
        text,
        await Deno.readTextFile(join(runDir, "features", "trial_acts", `${k}.json`)),
      );
    }
    // EEG: every trial within half an int8 step (plus the int16 step) of the run's copy.
    const C = index.channels.length;
    const T = index.n_samples;
    let checked = 0;
    for (let s = 0; s < meta.eeg.n_chunks; s++) {
      const n = trialsInChunk(meta.eeg, index.n_trials, s);
      const bytes = await Deno.readFile(join(out, "data", "eeg", `${s}.bin`));
      assert.equal(bytes.length, n * C * (4 + T));
      const site = decodeEeg8(bytes, n, C, T, "eeg");
      for (let j = 0; j < n; j++) {
        const i = s * meta.eeg.chunk_size + j;
        const k = Math.floor(i / index.trial_store.chunk_size);
        const run = decodeEegChunk(
          await Deno.readFile(join(runDir, "features", "eeg", `${k}.bin`)),
          trialsInChunk(index.trial_store, index.n_trials, k),
          C,
          T,
        );
        for (let c = 0; c < C; c++) {
          const rr = (i - k * index.trial_store.chunk_size) * C + c;
          const rs = j * C + c;
          let max = 0;
          for (let t = 0; t < T; t++) max = Math.max(max, Math.abs(run.values[rr * T + t]));
          const tol = (max * run.scales[rr]) / 127 / 2 + run.scales[rr];
          for (let t = 0; t < T; t++) {
            const want = run.values[rr * T + t] * run.scales[rr];
            const got = site.values[rs * T + t] * site.scales[rs];
            assert.ok(Math.abs(got - want) <= tol, `trial ${i} ch ${c} t ${t}: ${got} vs ${want}`);
          }
        }
        checked++;
      }
    }
    assert.equal(checked, index.n_trials);
  },
});

Deno.test("int8 EEG: re-quantised rows keep the peak exactly, zero rows stay zero, bytes round-trip", () => {
  const row = Int16Array.from([0, 100, -200, 32767, -32767, 5]);
  const out = new Int8Array(row.length);
  const scale = requantiseRow(row, 0.5, out);
  assert.deepEqual([...out], [0, 0, -1, 127, -127, 0]);
  assert.equal(scale * 127, 0.5 * 32767);
  const zero = new Int8Array(3).fill(9);
  assert.equal(requantiseRow(new Int16Array(3), 0.25, zero), 1);
  assert.deepEqual([...zero], [0, 0, 0]);
  const chunk = {
    n: 1,
    channels: 2,
    samples: 3,
    scales: Float32Array.from([0.5, 2]),
    values: Int8Array.from([1, -2, 3, 127, 0, -127]),
  };
  const back = decodeEeg8(eeg8Bytes(chunk), 1, 2, 3, "x.bin");
  assert.deepEqual(eeg8Rows(back, 0), [[0.5, -1, 1.5], [254, 0, -254]]);
  assert.throws(() => decodeEeg8(new Uint8Array(5), 1, 2, 3, "x.bin"), /x\.bin: expected 14 bytes/);
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
      const eeg = await get("data/eeg/0.bin");
      assert.deepEqual(eeg.status, 200);
      await eeg.body?.cancel();
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

Deno.test("plots: geometry rounding leaves text alone; search finds features and trials", () => {
  assert.deepEqual(
    roundGeometry('<path d="M1.23456,7.891L2.05,3"/><text x="1.25">0.125</text>'),
    '<path d="M1.2,7.9L2.1,3"/><text x="1.3">0.125</text>',
  );
  const trialKeys = Array.from({ length: 25 }, (_, i) => `S1/T/${i}`);
  const ix: SearchIndex = {
    classes: ["left hand", "feet"],
    channels: ["C3", "Cz"],
    bands: ["alpha/mu", "beta"],
    features: [[3, 0, 0, 1, 0.1], [12, 1, 1, 0, 0.3], [13, 1, 0, 0, 0.2]],
    trials: {
      labels: trialKeys.map((_, i) => i % 2),
      subjects: trialKeys.map(() => 1),
      keys: trialKeys,
    },
  };
  const hrefs = (q: string, base = "/") => searchIndex(ix, q, base).map((h) => h.href);
  // A number: the features whose id starts with it, then trial N first among the trials.
  assert.deepEqual(hrefs("1"), [
    "/features/12/",
    "/features/13/",
    "/trials/1/",
    "/trials/10/",
    "/trials/11/",
    "/trials/12/",
    "/trials/13/",
    "/trials/14/",
    "/trials/15/",
    "/trials/16/",
    "/trials/17/",
    "/trials/18/",
  ]);
  assert.deepEqual(hrefs("trial 2"), [
    "/trials/2/",
    "/trials/20/",
    "/trials/21/",
    "/trials/22/",
    "/trials/23/",
    "/trials/24/",
  ]);
  assert.deepEqual(hrefs("trial 24"), ["/trials/24/"]);
  assert.deepEqual(hrefs("trial 99"), []);
  assert.deepEqual(hrefs("S1/T/7"), ["/trials/7/"]);
  assert.deepEqual(hrefs("c3"), ["/features/13/", "/features/3/"]);
  assert.deepEqual(hrefs("feet", "/b/"), ["/b/features/12/", "/b/features/13/"]);
  assert.deepEqual(hrefs("xyz"), []);
  // The comparison list's query: ids in order, duplicates and junk dropped.
  assert.deepEqual(parseFeatureList("12, 40,x,12,311,-1,"), [12, 40, 311]);
  assert.deepEqual(parseFeatureList(null), []);
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
      includes(overview, `data-base="${r.base}"`, r.base);
      const trial = await Deno.readTextFile(join(r.dir, "trials", "3", "index.html"));
      includes(trial, `href="${r.base}trials/2/"`, r.base);
      await Deno.stat(join(r.dir, "features", String(firstAlive), "index.html"));
      await Deno.stat(join(r.dir, "data", "features", `${firstAlive}.json`));
      await Deno.stat(join(r.dir, "data", "meta.json"));
    }
  },
});
