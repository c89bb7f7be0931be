/**
 * PNG screenshots of a built site (the overview and one feature page, at laptop and phone widths)
 * with playwright-core driving Debian's Chromium: never a downloaded browser.
 */
import { join } from "node:path";
import { chromium } from "playwright-core";
import { serveStatic } from "./static_server.ts";

export const CHROMIUM_PATH = "/usr/bin/chromium";

/** Launches headless Chromium from `/usr/bin/chromium` (or `EEG_SAE_CHROMIUM`). */
export function launchChromium() {
  return chromium.launch({
    executablePath: Deno.env.get("EEG_SAE_CHROMIUM") ?? CHROMIUM_PATH,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
}

/** Writes screenshots of `siteDir` into `outDir`; returns their paths. */
export async function takeScreenshots(
  siteDir: string,
  outDir: string,
  featureId: number,
  trialIndex: number | null,
): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const server = await serveStatic(siteDir);
  const browser = await launchChromium();
  const written: string[] = [];
  try {
    const shots: { name: string; path: string; width: number }[] = [
      { name: "overview.png", path: "", width: 1280 },
      { name: `feature-${featureId}.png`, path: `features/${featureId}/`, width: 1280 },
      { name: `feature-${featureId}-phone.png`, path: `features/${featureId}/`, width: 390 },
      ...(trialIndex === null
        ? []
        : [{ name: `trial-${trialIndex}.png`, path: `trials/${trialIndex}/`, width: 1280 }]),
    ];
    for (const s of shots) {
      const page = await browser.newPage({ viewport: { width: s.width, height: 900 } });
      // Feature and trial pages draw their plots after fetching data files: wait for those.
      await page.goto(server.url + s.path, { waitUntil: "networkidle" });
      const file = join(outDir, s.name);
      await page.screenshot({ path: file, fullPage: true });
      written.push(file);
      await page.close();
    }
  } finally {
    await browser.close();
    await server.shutdown();
  }
  return written;
}
