/// <reference lib="dom" />
/** The comparison list: feature ids a reader collects (kept in localStorage per site base path)
 * and the `/compare/?f=...` URL that shows them side by side. */

const KEY = "eeg-sae-compare";

/** Feature ids in a `?f=12,40,311` query value: integers ≥ 0, first occurrence kept. */
export function parseFeatureList(value: string | null): number[] {
  const ids = (value ?? "").split(",").map((s) => s.trim()).filter((s) => /^\d+$/.test(s))
    .map(Number);
  return [...new Set(ids)];
}

export function compareHref(base: string, ids: number[]): string {
  return `${base}compare/?f=${ids.join(",")}`;
}

export function readCompareList(storage: Storage, base: string): number[] {
  return parseFeatureList(storage.getItem(`${KEY}:${base}`));
}

export function writeCompareList(storage: Storage, base: string, ids: number[]): void {
  storage.setItem(`${KEY}:${base}`, ids.join(","));
}

/** Wires the feature page's "add to comparison" button and the link to the comparison. */
export function attachCompareButton(doc: Document, base: string, id: number): void {
  const button = doc.getElementById("add-compare") as HTMLButtonElement | null;
  const link = doc.getElementById("compare-link") as HTMLAnchorElement | null;
  if (!button || !link) return;
  const storage = doc.defaultView!.localStorage;
  const show = () => {
    const ids = readCompareList(storage, base);
    const listed = ids.includes(id);
    button.textContent = listed ? "Remove from comparison" : "Add to comparison";
    link.href = compareHref(base, ids.length ? ids : [id]);
    link.textContent = `Compare (${ids.length})`;
  };
  button.addEventListener("click", () => {
    const ids = readCompareList(storage, base);
    writeCompareList(storage, base, ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id]);
    show();
  });
  show();
}
