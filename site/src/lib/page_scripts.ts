/// <reference lib="dom" />
/** The one client script of every page: the search box, and the plots of whichever page this is
 * (feature, trial or comparison), drawn from the site's data files. */
import { showComparePage } from "./compare_view.ts";
import { showFeaturePage } from "./feature_view.ts";
import { attachSearch } from "./search_client.ts";
import { SiteClient } from "./site_fetch.ts";
import { showTrialPage } from "./trial_view.ts";

const VIEWS = {
  "feature-page": showFeaturePage,
  "trial-page": showTrialPage,
  "compare-page": showComparePage,
};

export function startPage(doc: Document): void {
  const form = doc.querySelector("form.search") as HTMLFormElement | null;
  attachSearch(form);
  const client = new SiteClient(form?.dataset.base ?? "/");
  for (const [id, show] of Object.entries(VIEWS)) {
    const root = doc.getElementById(id);
    if (!root) continue;
    show(doc, root, client).catch((e: Error) => {
      const p = doc.createElement("p");
      p.className = "load-error";
      p.textContent = `Could not draw this page: ${e.message}`;
      root.prepend(p);
      console.error(e);
    });
  }
}
