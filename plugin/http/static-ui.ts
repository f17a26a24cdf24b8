import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type Koa from 'koa';
import { HttpError } from './http-error.js';

/**
 * Serves the built web UI (dist/ui): `/` (index.html, revalidated every time), `/assets/<file>`
 * (content-hashed by Vite, so cached for a year) and `/favicon.svg`. Anything else passes through
 * untouched, so webhooks and the API pay one method check. Asset names are matched against a
 * strict pattern instead of resolving paths, which rules out traversal; precompressed `.br`/`.gz`
 * siblings written by the build are used when the client accepts them. Security headers (CSP,
 * nosniff, framing) come from security-headers.ts, registered in front of this for every answer.
 */

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

const ASSET = /^\/assets\/([A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}\.(?:js|css|svg|json|png|woff2))$/;
const IMMUTABLE = 'public, max-age=31536000, immutable';

type Encoding = 'br' | 'gzip' | 'identity';
const SUFFIX: Record<Encoding, string> = { br: '.br', gzip: '.gz', identity: '' };

interface StaticFile {
  body: Buffer;
  type: string;
  encoding: Encoding;
  mtime: Date;
}

async function readFileIfAny(path: string): Promise<{ body: Buffer; mtime: Date } | null> {
  try {
    const [info, body] = await Promise.all([stat(path), readFile(path)]);
    return info.isFile() ? { body, mtime: info.mtime } : null;
  } catch {
    return null;
  }
}

/** The client's preferred encoding if the build wrote that variant, else the plain file. */
async function load(path: string, type: string, preferred: Encoding): Promise<StaticFile | null> {
  for (const encoding of preferred === 'identity' ? (['identity'] as const) : [preferred, 'identity' as const]) {
    const found = await readFileIfAny(path + SUFFIX[encoding]);
    if (found) return { ...found, type, encoding };
  }
  return null;
}

export function staticUi(distDir: string): Koa.Middleware {
  // Hashed assets never change under the same name: keep what was read (bounded by the build's file set).
  const assets = new Map<string, StaticFile>();

  return async function serveUi(ctx, next) {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const path = ctx.path;
    const preferred = (ctx.acceptsEncodings('br', 'gzip', 'identity') || 'identity') as Encoding;

    let file: StaticFile | null;
    let cacheControl: string;
    if (path === '/' || path === '/index.html') {
      file = await load(join(distDir, 'index.html'), TYPES['.html'], preferred);
      if (!file) throw new HttpError(404, 'ui_not_built', 'the web UI is not built: run `npm run build`');
      cacheControl = 'no-cache';
    } else if (path === '/favicon.svg') {
      file = await load(join(distDir, 'favicon.svg'), TYPES['.svg'], preferred);
      cacheControl = 'public, max-age=86400';
    } else {
      const match = ASSET.exec(path);
      if (!match) return next();
      const name = match[1];
      const key = `${name}|${preferred}`;
      file = assets.get(key) ?? (await load(join(distDir, 'assets', name), TYPES[name.slice(name.lastIndexOf('.'))], preferred));
      if (file) assets.set(key, file);
      cacheControl = IMMUTABLE;
    }
    if (!file) return next();

    ctx.status = 200;
    ctx.type = file.type;
    ctx.set('Cache-Control', cacheControl);
    ctx.vary('Accept-Encoding');
    if (file.encoding !== 'identity') ctx.set('Content-Encoding', file.encoding);
    ctx.lastModified = file.mtime;
    ctx.etag = `W/"${file.body.length.toString(16)}-${file.mtime.getTime().toString(16)}-${file.encoding}"`;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    ctx.body = file.body;
  };
}
