/// <reference lib="dom" />
/** The search box island: loads the search index on first use and lists matching pages. */
import { type SearchIndex, searchIndex } from "./search_index.ts";

export function attachSearch(form: HTMLFormElement | null): void {
  if (!form) return;
  const input = form.querySelector("input") as HTMLInputElement;
  const list = form.querySelector("ul") as HTMLUListElement;
  const base = form.dataset.base ?? "/";
  let loaded: Promise<SearchIndex> | undefined;
  const load = () => (loaded ??= fetch(form.dataset.index ?? "search.json").then((r) => r.json()));
  const show = async () => {
    const hits = searchIndex(await load(), input.value, base);
    list.replaceChildren(...hits.map((h) => {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = h.href;
      a.textContent = h.label;
      li.append(a);
      return li;
    }));
    if (input.value.trim() !== "" && hits.length === 0) {
      const li = document.createElement("li");
      li.textContent = "no match";
      li.style.padding = ".3rem .6rem";
      list.append(li);
    }
    list.hidden = input.value.trim() === "";
  };
  input.addEventListener("focus", () => void load());
  input.addEventListener("input", () => void show());
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") (list.querySelector("a") as HTMLAnchorElement | null)?.click();
    if (e.key === "Escape") list.hidden = true;
  });
}
