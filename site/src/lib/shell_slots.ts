/**
 * Feature and trial pages are one Astro-built shell page each, copied per id by the build driver
 * with these slots replaced (thousands of pages in seconds instead of minutes); their plots are
 * drawn in the browser. Slots are plain text Astro leaves as it is.
 */
export const SHELL_SLOTS = {
  /** The feature id or trial index (text). */
  id: "@@ID@@",
  /** A trial's class index (attribute). */
  label: "@@LABEL@@",
  /** The summary stats (markup). */
  stats: "@@STATS@@",
  /** Links to the previous and next page (markup). */
  pager: "@@PAGER@@",
} as const;

/** Output folders of the shells (`<out>/shell/<name>/index.html`), removed after copying. */
export const SHELL_DIR = "shell";
export const SHELL_NAMES = ["feature", "dead-feature", "trial"] as const;
export type ShellName = typeof SHELL_NAMES[number];
