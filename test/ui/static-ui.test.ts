import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import Koa from 'koa';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../../plugin/http/errors.js';
import { staticUi } from '../../plugin/http/static-ui.js';

const INDEX = '<!doctype html><script type="module" src="/assets/index-AbC123.js"></script>';
const SCRIPT = 'console.log("ui");'.repeat(20);

describe('staticUi middleware', () => {
  let root: string;
  let server: Server;
  let url = '';
  const passedThrough: string[] = [];

  const start = async (dist: string) => {
    const koa = new Koa();
    koa.use(errorHandler(pino({ level: 'silent' })));
    koa.use(staticUi(dist));
    koa.use((ctx) => {
      passedThrough.push(`${ctx.method} ${ctx.path}`);
      if (ctx.path === '/uplink') ctx.body = { ok: true };
    });
    const s = koa.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => s.once('listening', () => resolve()));
    return { s, url: `http://127.0.0.1:${(s.address() as AddressInfo).port}` };
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'static-ui-'));
    const dist = join(root, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(join(dist, 'index.html'), INDEX);
    writeFileSync(join(dist, 'favicon.svg'), '<svg/>');
    writeFileSync(join(dist, 'assets', 'index-AbC123.js'), SCRIPT);
    writeFileSync(join(dist, 'assets', 'index-AbC123.js.gz'), gzipSync(SCRIPT));
    writeFileSync(join(root, 'secret.js'), 'SECRET');
    writeFileSync(join(dist, 'assets', '.env.js'), 'SECRET');
    ({ s: server, url } = await start(dist));
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html for revalidation on every load', async () => {
    const res = await fetch(`${url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe(INDEX);
    // fetch() marks conditional requests no-cache; a browser revalidating does not.
    const again = await fetch(`${url}/`, { headers: { 'If-None-Match': res.headers.get('etag') ?? '', 'Cache-Control': 'max-age=0' } });
    expect(again.status).toBe(304);
  });

  it('serves hashed assets as immutable, precompressed when accepted', async () => {
    const gz = await fetch(`${url}/assets/index-AbC123.js`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gz.status).toBe(200);
    expect(gz.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toMatch(/Accept-Encoding/);
    expect(gz.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(await gz.text()).toBe(SCRIPT);
    // No .br was built: a brotli-only client gets the plain file.
    const plain = await fetch(`${url}/assets/index-AbC123.js`, { headers: { 'Accept-Encoding': 'br' } });
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(SCRIPT);
  });

  it('answers HEAD with headers only', async () => {
    const res = await fetch(`${url}/assets/index-AbC123.js`, { method: 'HEAD', headers: { 'Accept-Encoding': 'identity' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(SCRIPT.length));
    expect(await res.text()).toBe('');
  });

  it('never serves anything outside dist/assets', async () => {
    for (const path of ['/assets/../secret.js', '/assets/..%2fsecret.js', '/assets/%2e%2e%2fsecret.js', '/assets/%2e%2e/secret.js', '/assets/.env.js', '/assets/sub/index-AbC123.js', '/secret.js', '/index.html/../secret.js']) {
      const res = await fetch(`${url}${path}`);
      expect(res.status, path).toBe(404);
      expect(await res.text(), path).not.toContain('SECRET');
    }
  });

  it('passes every other request through untouched', async () => {
    passedThrough.length = 0;
    expect(await (await fetch(`${url}/uplink`, { method: 'POST', body: '{}' })).json()).toEqual({ ok: true });
    await fetch(`${url}/`, { method: 'POST' });
    await fetch(`${url}/api/profiles`);
    expect(passedThrough).toEqual(['POST /uplink', 'POST /', 'GET /api/profiles']);
  });

  it('says so when the UI is not built', async () => {
    const { s, url: bare } = await start(join(root, 'missing'));
    const res = await fetch(`${bare}/`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('ui_not_built');
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  });
});
