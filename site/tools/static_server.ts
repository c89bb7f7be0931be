/**
 * Serves a built site folder over HTTP on 127.0.0.1 with correct MIME types: `/x/` serves
 * `x/index.html`, `/x` redirects to `/x/` when that is a folder. Only regular files whose real path
 * lies inside the folder are served (no symlink leads out); malformed paths are 400, other methods
 * than GET and HEAD 405, and no redirect can point to another host.
 */
import { extname, join, resolve, sep } from "node:path";

export const MIME_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".woff2": "font/woff2",
  ".xml": "application/xml",
  ".webmanifest": "application/manifest+json",
};

export interface StaticServer {
  url: string;
  port: number;
  shutdown: () => Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** A response with the headers every answer carries. */
function reply(body: BodyInit | null, status: number, headers: Record<string, string> = {}) {
  return new Response(body, {
    status,
    headers: { "x-content-type-options": "nosniff", ...headers },
  });
}

function text(message: string, status: number, extra: Record<string, string> = {}): Response {
  return reply(message + "\n", status, { "content-type": "text/plain; charset=utf-8", ...extra });
}

/**
 * The path's segments, decoded, or null when the path is malformed: bad percent-encoding, an
 * empty segment (`//host` would read as another host to a browser), `.`/`..`, or a decoded
 * segment holding a separator or NUL.
 */
export function pathSegments(pathname: string): string[] | null {
  if (!pathname.startsWith("/")) return null;
  const raw = pathname.slice(1).split("/");
  const trailing = raw.length > 1 && raw.at(-1) === "";
  const parts = trailing ? raw.slice(0, -1) : raw;
  if (parts.length === 1 && parts[0] === "") return [];
  const out: string[] = [];
  for (const p of parts) {
    let d: string;
    try {
      d = decodeURIComponent(p);
    } catch {
      return null;
    }
    if (d === "" || d === "." || d === ".." || /[\/\\\0]/.test(d)) return null;
    out.push(d);
  }
  return out;
}

async function realOrNull(path: string): Promise<string | null> {
  try {
    return await Deno.realPath(path);
  } catch {
    return null;
  }
}

/** Starts the server; `port` 0 picks a free port. */
export async function serveStatic(dir: string, port = 0): Promise<StaticServer> {
  const root = await realOrNull(resolve(dir));
  if (!root || !await realOrNull(join(root, "index.html"))) {
    throw new Error(`${resolve(dir)} has no index.html: build the site first (deno task site)`);
  }
  /** A regular file whose real path lies inside the site folder, or null. */
  const fileInside = async (
    path: string,
  ): Promise<{ real: string; info: Deno.FileInfo } | null> => {
    const real = await realOrNull(path);
    if (!real || (real !== root && !real.startsWith(root + sep))) return null;
    const info = await Deno.stat(real).catch(() => null);
    return info ? { real, info } : null;
  };
  const handler = async (req: Request): Promise<Response> => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text("only GET and HEAD", 405, { allow: "GET, HEAD" });
    }
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      return text("bad request", 400);
    }
    const segments = pathSegments(url.pathname);
    if (!segments) return text("bad path", 400);
    const notFound = () => text(`not found: ${url.pathname}`, 404);
    let found = await fileInside(join(root, ...segments));
    if (found?.info.isDirectory) {
      if (!url.pathname.endsWith("/")) {
        // A path on this host: its segments are non-empty, so it never starts with "//".
        const path = segments.map(encodeURIComponent).join("/");
        return reply(null, 301, { location: `/${path}/` });
      }
      found = await fileInside(join(found.real, "index.html"));
    }
    if (!found?.info.isFile) return notFound();
    const body = req.method === "HEAD" ? null : await Deno.readFile(found.real).catch(() => null);
    if (req.method === "GET" && !body) return notFound();
    const type = MIME_TYPES[extname(found.real).toLowerCase()] ?? "application/octet-stream";
    return reply(body, 200, { "content-type": type, "content-length": String(found.info.size) });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  const actual = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${actual}/`,
    port: actual,
    shutdown: () => server.shutdown(),
    finished: server.finished,
  };
}
