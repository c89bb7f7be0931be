/** Stable URLs of every page, under the site's base path (a run's folder in a multi-run site). */
export interface SiteLinks {
  home: string;
  classes: string;
  compare: string;
  searchIndex: string;
  feature: (id: number) => string;
  trial: (index: number) => string;
}

export function siteLinks(baseUrl: string): SiteLinks {
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return {
    home: base,
    classes: `${base}classes/`,
    compare: `${base}compare/`,
    searchIndex: `${base}search.json`,
    feature: (id) => `${base}features/${id}/`,
    trial: (index) => `${base}trials/${index}/`,
  };
}

/** Compact number formatting for tables: 3 significant digits, exponent when tiny or huge. */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a < 1e-3 || a >= 1e5
    ? v.toExponential(digits - 1)
    : Number(v.toPrecision(digits)).toString();
}

/** A fraction as a percentage with one decimal. */
export function pct(v: number): string {
  return `${(100 * v).toFixed(1)}%`;
}
