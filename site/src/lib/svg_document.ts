/**
 * A lightweight DOM (linkedom) for rendering Observable Plot charts to SVG text at build time, so
 * static plots need no JavaScript in the browser.
 */
/// <reference lib="dom" />
import { parseHTML } from "linkedom";

const { document: dom } = parseHTML("<!doctype html><html><head></head><body></body></html>");

/** The build-time document passed as Plot's `document` option. */
export const buildDocument = dom as unknown as Document;

/** Serialises a rendered Plot figure (or any element) to markup. */
export function toMarkup(node: Element): string {
  return node.outerHTML;
}
