import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { SseClient } from '../helpers/sse.js';
import { ECHO_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';
import { DIST_UI, ensureUiBuilt } from './helpers/build-ui.js';

/** What a browser must see on every answer, written out rather than imported so a change shows here. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "font-src 'self'; connect-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const EXPECTED = {
  'content-security-policy': CSP,
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const securityHeadersOf = (headers: Headers) => Object.fromEntries(Object.keys(EXPECTED).map((name) => [name, headers.get(name)]));

describe('security headers on every answer', () => {
  let plugin: PluginHarness;
  let token: string;

  beforeAll(async () => {
    ensureUiBuilt();
    plugin = await new PluginHarness().start();
    await plugin.request('PUT', '/api/profiles/greenhouse-app', { body: { formatter: { type: 'javascript', script: ECHO_UPLINK } } });
    token = await plugin.webhookToken('greenhouse-app');
  }, 120_000);

  afterAll(async () => {
    await plugin?.destroy();
  });

  const get = (path: string, init: RequestInit = {}) => fetch(`${plugin.url}${path}`, init);

  it('on the UI page, a script, a stylesheet and the favicon, fresh or revalidated', async () => {
    const index = await get('/');
    expect(index.status).toBe(200);
    expect(securityHeadersOf(index.headers)).toEqual(EXPECTED);
    const html = await index.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.some((a) => a.endsWith('.js'))).toBe(true);
    expect(assets.some((a) => a.endsWith('.css'))).toBe(true);
    for (const path of [...assets, '/favicon.svg']) {
      const res = await get(path, { headers: { 'Accept-Encoding': 'br' } });
      expect(res.status, path).toBe(200);
      expect(securityHeadersOf(res.headers), path).toEqual(EXPECTED);
    }
    const revalidated = await get('/', { headers: { 'If-None-Match': index.headers.get('etag') ?? '', 'Cache-Control': 'max-age=0' } });
    expect(revalidated.status).toBe(304);
    expect(securityHeadersOf(revalidated.headers)).toEqual(EXPECTED);
  });

  it('on API answers: JSON, 401, 404 (in and outside the API), 405 and a public route', async () => {
    const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };
    const answers: [string, Response, number][] = [
      ['GET /api/profiles', await get('/api/profiles', { headers: auth }), 200],
      ['no token', await get('/api/profiles'), 401],
      ['unknown profile', await get('/api/profiles/nobody', { headers: auth }), 404],
      ['unknown API route', await get('/api/nothing-here', { headers: auth }), 404],
      ['unknown path', await get('/nothing-here'), 404],
      ['missing asset', await get('/assets/missing.js'), 404],
      ['POST /', await get('/', { method: 'POST' }), 404],
      ['DELETE /api/events', await get('/api/events', { method: 'DELETE', headers: auth }), 405],
      ['manifest', await get('/manifest.json'), 200],
    ];
    for (const [name, res, status] of answers) {
      expect(res.status, name).toBe(status);
      expect(res.headers.get('content-type'), name).toMatch(/^application\/json/);
      expect(securityHeadersOf(res.headers), name).toEqual(EXPECTED);
      if (status >= 400) expect(Object.keys(((await res.json()) as { error: object }).error).sort(), name).toEqual(['code', 'details', 'message']);
    }
  });

  it('on the event stream', async () => {
    const sse = await new SseClient(`${plugin.url}/api/events/stream`, { Authorization: `Bearer ${ADMIN_TOKEN}` }).open();
    try {
      expect(sse.status).toBe(200);
      expect(securityHeadersOf(sse.headers)).toEqual(EXPECTED);
    } finally {
      sse.close();
    }
  });

  it('on webhook answers, from the fast intake and from Koa alike, accepted or refused', async () => {
    const body = JSON.stringify(uplinkBody({ appId: 'greenhouse-app' }));
    // A declared length goes through the intake in front of Koa; a chunked body goes through Koa.
    for (const chunked of [false, true]) {
      for (const [auth, status] of [[`Bearer ${token}`, 200], ['Bearer wrong-token', 401]] as const) {
        const res = await post('/tts/webhook', body, { 'Content-Type': 'application/json', Authorization: auth }, chunked);
        expect(res.status, `chunked=${chunked} ${status}`).toBe(status);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        for (const [name, value] of Object.entries(EXPECTED)) expect(res.headers[name], `chunked=${chunked} ${status} ${name}`).toBe(value);
      }
    }
    const invalid = await post('/tts/webhook', '{"not json', { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` }, false);
    expect(invalid.status).toBe(400);
    for (const [name, value] of Object.entries(EXPECTED)) expect(invalid.headers[name], name).toBe(value);
  });

  /** A raw POST, so the test decides between a declared length and a chunked body. */
  function post(path: string, body: string, headers: Record<string, string>, chunked: boolean) {
    return new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
      const req = request(`${plugin.url}${path}`, { method: 'POST', headers: chunked ? headers : { ...headers, 'Content-Length': String(Buffer.byteLength(body)) } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      });
      req.on('error', reject);
      if (chunked) {
        req.write(body.slice(0, 10));
        req.write(body.slice(10));
      } else {
        req.write(body);
      }
      req.end();
    });
  }
});

describe('the built UI', () => {
  it('has no inline script, inline style or event handler attribute for the CSP to refuse', () => {
    ensureUiBuilt();
    const html = readFileSync(join(DIST_UI, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, content] of scripts) {
      expect(attrs).toMatch(/\bsrc="\/assets\//);
      expect(content.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
    expect(html).not.toMatch(/javascript:/i);
    // Nothing in the bundle evaluates strings as code (script-src has no 'unsafe-eval').
    for (const file of readdirSync(join(DIST_UI, 'assets')).filter((f) => f.endsWith('.js'))) {
      const code = readFileSync(join(DIST_UI, 'assets', file), 'utf8');
      expect(code, file).not.toMatch(/\bnew Function\(|\beval\(/);
    }
  });
});
