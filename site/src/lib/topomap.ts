/**
 * Scalp topomaps: electrode xyz from the position bank projected to 2D (azimuthal equidistant
 * about the vertex, nose up), values interpolated by inverse-distance weighting onto a grid inside
 * the head circle, and drawn as an SVG with the field as an embedded PNG (small and smooth),
 * the head outline, and labelled electrodes. Runs at build time and in the browser (fflate, not
 * node:zlib, compresses the PNG).
 */
import { zlibSync } from "fflate";
import { type ContinuousScheme, rgbScale } from "./colour.ts";
import { escapeHtml } from "./escape.ts";

export interface ProjectedElectrode {
  name: string;
  /** Unit head coordinates: x right, y towards the nose; the ears' plane is radius 1. */
  x: number;
  y: number;
}

/** Azimuthal equidistant projection of `xyz` (metres, one per name): distance from the vertex
 * along the sphere → radius. */
export function projectElectrodes(names: string[], xyz: number[][]): ProjectedElectrode[] {
  return names.map((name, c) => {
    const [x, y, z] = xyz[c];
    const norm = Math.hypot(x, y, z) || 1;
    const polar = Math.acos(Math.max(-1, Math.min(1, z / norm)));
    const r = polar / (Math.PI / 2);
    const azimuth = Math.atan2(y, x);
    return { name, x: r * Math.cos(azimuth), y: r * Math.sin(azimuth) };
  });
}

/** Inverse-distance (power 2) interpolation of electrode values at point (x, y). */
export function interpolateIdw(
  electrodes: ProjectedElectrode[],
  values: number[],
  x: number,
  y: number,
): number {
  let num = 0;
  let den = 0;
  for (let c = 0; c < electrodes.length; c++) {
    const d2 = (electrodes[c].x - x) ** 2 + (electrodes[c].y - y) ** 2;
    if (d2 < 1e-12) return values[c];
    const w = 1 / d2;
    num += w * values[c];
    den += w;
  }
  return num / den;
}

export interface TopomapOptions {
  size?: number;
  scheme?: ContinuousScheme;
  /** Value range of the colour scale; defaults to the values' min..max. */
  domain?: [number, number];
  title: string;
  /** Grid resolution of the interpolated field. */
  grid?: number;
}

/** SVG markup of the topomap of `values` (one per channel, in `channels` order). */
export function topomapSvg(
  channels: string[],
  xyz: number[][],
  values: number[],
  opts: TopomapOptions,
): string {
  const size = opts.size ?? 260;
  const grid = opts.grid ?? 96;
  const electrodes = projectElectrodes(channels, xyz);
  const extent = Math.max(...electrodes.map((e) => Math.hypot(e.x, e.y)));
  const radius = Math.min(1.05, extent * 1.15);
  const lo = opts.domain?.[0] ?? Math.min(...values);
  const hi = opts.domain?.[1] ?? Math.max(...values);
  const colour = rgbScale(opts.scheme ?? "viridis", [lo, hi === lo ? lo + 1 : hi]);
  const rgba = new Uint8Array(grid * grid * 4);
  for (let row = 0; row < grid; row++) {
    for (let col = 0; col < grid; col++) {
      const x = ((col + 0.5) / grid * 2 - 1) * radius;
      const y = (1 - (row + 0.5) / grid * 2) * radius;
      if (x * x + y * y > radius * radius) continue;
      const [r, g, b] = colour(interpolateIdw(electrodes, values, x, y));
      rgba.set([r, g, b, 255], (row * grid + col) * 4);
    }
  }
  const png = encodePng(rgba, grid, grid);
  const half = size / 2;
  const head = half * 0.82;
  const px = (v: number) => (half + (v / radius) * head).toFixed(1);
  const py = (v: number) => (half - (v / radius) * head).toFixed(1);
  const dots = electrodes.map((e, c) =>
    `<g><circle cx="${px(e.x)}" cy="${
      py(e.y)
    }" r="2.6" fill="white" stroke="black" stroke-width="0.8">` +
    `<title>${escapeHtml(e.name)}: ${values[c].toPrecision(3)}</title></circle>` +
    `<text x="${px(e.x)}" y="${
      (Number(py(e.y)) - 4.5).toFixed(1)
    }" font-size="8" text-anchor="middle" ` +
    `fill="white" stroke="black" stroke-width="2" paint-order="stroke">${
      escapeHtml(e.name)
    }</text></g>`
  ).join("");
  const nose = `M${half - 10},${half - head + 1} L${half},${half - head - 13} L${half + 10},${
    half - head + 1
  }`;
  const ear = (sgn: number) =>
    `<ellipse cx="${
      half + sgn * (head + 5)
    }" cy="${half}" rx="6" ry="18" fill="none" stroke="currentColor" stroke-width="1.5"/>`;
  return `<svg class="topomap" role="img" viewBox="0 0 ${size} ${size}" width="${size}" height="${size}" ` +
    `aria-label="${escapeHtml(opts.title)}"><title>${escapeHtml(opts.title)}</title>` +
    `<image href="data:image/png;base64,${btoaBytes(png)}" x="${half - head}" y="${half - head}" ` +
    `width="${2 * head}" height="${2 * head}" preserveAspectRatio="none"/>` +
    `<circle cx="${half}" cy="${half}" r="${head}" fill="none" stroke="currentColor" stroke-width="1.5"/>` +
    `<path d="${nose}" fill="none" stroke="currentColor" stroke-width="1.5"/>${ear(-1)}${
      ear(1)
    }${dots}</svg>`;
}

function btoaBytes(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A minimal RGBA PNG encoder (filter 0 on every row, zlib via fflate). */
export function encodePng(rgba: Uint8Array, width: number, height: number): Uint8Array {
  const raw = new Uint8Array(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    raw.set(rgba.subarray(y * width * 4, (y + 1) * width * 4), y * (1 + width * 4) + 1);
  }
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, 6, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlibSync(raw)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
