/** Escapes text for HTML/SVG markup written by hand (Astro and Plot escape their own output). */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
