/**
 * Writes every feature page (`features/<id>/`, alive and dead) and every trial page
 * (`trials/<i>/`) by copying the Astro-built shells (site/src/lib/shell_slots.ts) with their slots
 * filled in: the summary stats from `features/index.json` and `features/trials.json`, escaped here.
 */
import { join } from "node:path";
import type { FeatureIndex, TrialTable } from "../../schema/run_folder.ts";
import { escapeHtml } from "../src/lib/escape.ts";
import { fmt, pct, siteLinks } from "../src/lib/links.ts";
import { SHELL_DIR, SHELL_NAMES, SHELL_SLOTS, type ShellName } from "../src/lib/shell_slots.ts";
import { EegSaeError } from "../../compute/util/errors.ts";

export class ShellPageError extends EegSaeError {}

export interface ShellReport {
  featurePages: number;
  trialPages: number;
  /** Bytes of every feature page and every trial page. */
  featureBytes: number;
  trialBytes: number;
  /** Median bytes of an alive feature's page. */
  featureMedianBytes: number;
}

const stat = (value: string, what: string) => `<div><b>${value}</b>${escapeHtml(what)}</div>`;

function pager(prev: string | null, next: string | null, prevLabel: string, nextLabel: string) {
  return (prev === null ? "<span></span>" : `<a href="${prev}">← ${escapeHtml(prevLabel)}</a>`) +
    (next === null ? "<span></span>" : `<a href="${next}">${escapeHtml(nextLabel)} →</a>`);
}

function fillShell(shell: string, slots: Record<keyof typeof SHELL_SLOTS, string>): string {
  let html = shell;
  for (const [k, slot] of Object.entries(SHELL_SLOTS)) {
    html = html.replaceAll(slot, slots[k as keyof typeof SHELL_SLOTS]);
  }
  return html;
}

/** Writes the pages into `outDir` (the built site, base path `base`) and removes the shells. */
export async function writeShellPages(
  outDir: string,
  base: string,
  index: FeatureIndex,
  trials: TrialTable,
): Promise<ShellReport> {
  const shells = {} as Record<ShellName, string>;
  for (const name of SHELL_NAMES) {
    const path = join(outDir, SHELL_DIR, name, "index.html");
    try {
      shells[name] = await Deno.readTextFile(path);
    } catch (e) {
      throw new ShellPageError(`${path}: the Astro build wrote no ${name} shell page`, {
        cause: e,
      });
    }
  }
  const links = siteLinks(base);
  const encoder = new TextEncoder();
  const writePage = async (dir: string, html: string) => {
    await Deno.mkdir(join(outDir, dir), { recursive: true });
    const bytes = encoder.encode(html);
    await Deno.writeFile(join(outDir, dir, "index.html"), bytes);
    return bytes.length;
  };
  const cls = (k: number | null) => (k === null ? "–" : escapeHtml(index.class_names[k] ?? "?"));
  const report: ShellReport = {
    featurePages: 0,
    trialPages: 0,
    featureBytes: 0,
    trialBytes: 0,
    featureMedianBytes: 0,
  };
  const aliveSizes: number[] = [];

  const aliveIds = index.features.filter((f) => f.alive).map((f) => f.id);
  const aliveRank = new Map(aliveIds.map((id, r) => [id, r]));
  for (const f of index.features) {
    const r = aliveRank.get(f.id);
    const prev = r !== undefined && r > 0 ? aliveIds[r - 1] : null;
    const next = r !== undefined && r < aliveIds.length - 1 ? aliveIds[r + 1] : null;
    const html = fillShell(f.alive ? shells.feature : shells["dead-feature"], {
      id: String(f.id),
      label: "",
      stats: f.alive
        ? [
          stat(pct(f.sparsity), "of tokens fire"),
          stat(pct(f.trial_sparsity), "of trials fire"),
          stat(fmt(f.mean_act), "mean activation"),
          stat(fmt(f.max_act), "max activation"),
          stat(cls(f.top_class), "top class"),
          stat(
            f.top_channel === null ? "–" : escapeHtml(index.channels[f.top_channel]),
            "top channel",
          ),
          stat(escapeHtml(f.dominant_band ?? "–"), "dominant band"),
          stat(`${fmt(f.class_entropy_top)} bits`, "class entropy (top trials)"),
        ].join("")
        : "",
      pager: pager(
        prev === null ? null : links.feature(prev),
        next === null ? null : links.feature(next),
        `feature ${prev}`,
        `feature ${next}`,
      ),
    });
    const size = await writePage(join("features", String(f.id)), html);
    if (f.alive) aliveSizes.push(size);
    report.featureBytes += size;
    report.featurePages++;
  }

  for (let i = 0; i < trials.n_trials; i++) {
    const [mse, cosine, l0] = trials.reconstruction[i];
    const html = fillShell(shells.trial, {
      id: String(i),
      label: String(trials.labels[i]),
      stats: [
        stat(cls(trials.labels[i]), "class"),
        stat(String(trials.subjects[i]), "subject"),
        stat(`<code>${escapeHtml(trials.keys[i])}</code>`, "key"),
        stat(fmt(mse), "reconstruction MSE"),
        stat(fmt(cosine), "reconstruction cosine"),
        stat(fmt(l0), "L0 (features per token)"),
      ].join(""),
      pager: pager(
        i > 0 ? links.trial(i - 1) : null,
        i < trials.n_trials - 1 ? links.trial(i + 1) : null,
        `trial ${i - 1}`,
        `trial ${i + 1}`,
      ),
    });
    report.trialBytes += await writePage(join("trials", String(i)), html);
    report.trialPages++;
  }
  await Deno.remove(join(outDir, SHELL_DIR), { recursive: true });
  aliveSizes.sort((a, b) => a - b);
  report.featureMedianBytes = aliveSizes[Math.floor(aliveSizes.length / 2)] ?? 0;
  return report;
}
