/// <reference lib="dom" />
/** The browser side of the site's data files: fetched once each, chunks cached per page. */
import type { FeatureDetail, TrialActs, TrialActsChunk } from "../../../schema/run_folder.ts";
import {
  decodeEeg8,
  type Eeg8Chunk,
  eeg8Rows,
  SiteDataFileError,
  siteDataPaths,
  type SiteMeta,
} from "./site_data.ts";

async function get(url: string): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new SiteDataFileError(`${url}: HTTP ${r.status}`);
  return r;
}

export class SiteClient {
  readonly paths: ReturnType<typeof siteDataPaths>;
  #meta?: Promise<SiteMeta>;
  #features = new Map<number, Promise<FeatureDetail>>();
  #acts = new Map<number, Promise<TrialActsChunk>>();
  #eeg = new Map<number, Promise<Eeg8Chunk>>();

  constructor(readonly base: string) {
    this.paths = siteDataPaths(base);
  }

  meta(): Promise<SiteMeta> {
    return this.#meta ??= get(this.paths.meta).then((r) => r.json());
  }

  feature(id: number): Promise<FeatureDetail> {
    let p = this.#features.get(id);
    if (!p) {
      p = get(this.paths.feature(id)).then((r) => r.json());
      this.#features.set(id, p);
    }
    return p;
  }

  async trialActs(i: number): Promise<TrialActs> {
    const meta = await this.meta();
    const k = Math.floor(i / meta.trial_acts.chunk_size);
    let p = this.#acts.get(k);
    if (!p) {
      p = get(this.paths.trialActs(k)).then((r) => r.json());
      this.#acts.set(k, p);
    }
    const acts = (await p).trials[i - k * meta.trial_acts.chunk_size];
    if (acts?.trial !== i) {
      throw new SiteDataFileError(`${this.paths.trialActs(k)}: has no entry for trial ${i}`);
    }
    return acts;
  }

  /** Trial `i`'s EEG `[C][T]` in model input units. */
  async eeg(i: number): Promise<number[][]> {
    const meta = await this.meta();
    const size = meta.eeg.chunk_size;
    const k = Math.floor(i / size);
    let p = this.#eeg.get(k);
    if (!p) {
      const url = this.paths.eeg(k);
      const n = Math.min(size, meta.n_trials - k * size);
      p = get(url).then(async (r) =>
        decodeEeg8(
          new Uint8Array(await r.arrayBuffer()),
          n,
          meta.channels.length,
          meta.n_samples,
          url,
        )
      );
      this.#eeg.set(k, p);
    }
    return eeg8Rows(await p, i - k * size);
  }
}

/** Sets an element's markup by id (no-op when the page lacks it). */
export function fill(doc: Document, id: string, html: string): void {
  const el = doc.getElementById(id);
  if (el) el.innerHTML = html;
}

/** Builds an element with text content and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  text: string | null,
  attrs: Record<string, string> = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const e = doc.createElement(tag);
  if (text !== null) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}
