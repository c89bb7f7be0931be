/**
 * Serves a built site folder over HTTP on 127.0.0.1 with correct MIME types: `/x/` serves
 * `x/index.html`, `/x` redirects to `/x/` when that is a folder, and paths cannot leave the root.
 */
import { extname, join, normalize, resolve } from "node:path";

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
}

async function statOrNull(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

/** Starts the server; `port` 0 picks a free port. */
export async function serveStatic(dir: string, port = 0): Promise<StaticServer> {
  const root = resolve(dir);
  const info = await statOrNull(join(root, "index.html"));
  if (!info) throw new Error(`${root} has no index.html: build the site first (deno task site)`);
  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    let rel: string;
    try {
      rel = normalize(decodeURIComponent(url.pathname));
    } catch {
      return new Response("bad path", { status: 400 });
    }
    const path = join(root, rel);
    if (!path.startsWith(root)) return new Response("forbidden", { status: 403 });
    const st = await statOrNull(path);
    let file = path;
    if (st?.isDirectory) {
      if (!url.pathname.endsWith("/")) {
        return Response.redirect(new URL(url.pathname + "/" + url.search, url), 301);
      }
      file = join(path, "index.html");
    }
    const body = await Deno.readFile(file).catch(() => null);
    if (!body) {
      return new Response(`not found: ${url.pathname}`, {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    const type = MIME_TYPES[extname(file).toLowerCase()] ?? "application/octet-stream";
    return new Response(body, { headers: { "content-type": type } });
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, handler);
  const actual = (server.addr as Deno.NetAddr).port;
  return { url: `http://127.0.0.1:${actual}/`, port: actual, shutdown: () => server.shutdown() };
}
