/**
 * Deeply nested JSON is refused with a 4xx (or kept as a dead letter when only a formatter's input),
 * never a 5xx, on every way in.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const nested = (depth: number): unknown => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
};
const nestedText = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('deeply nested JSON', () => {
  let plugin: PluginHarness;
  beforeAll(async () => {
    plugin = await new PluginHarness().start();
  });
  afterAll(async () => {
    await plugin.destroy();
  });

  it.each([20_000, 200])('a webhook whose decoded_payload is %i levels deep is a 400, and nothing is stored', async (depth) => {
    const body = uplinkBody({ decoded: { deep: 0 } });
    const token = await plugin.webhookToken('default');
    const text = JSON.stringify(body).replace('"deep":0', `"deep":${nestedText(depth)}`);
    // Straight to the webhook intake, and gzipped through Koa's body parser.
    const plain = await plugin.request('POST', '/tts/webhook', { raw: text, token });
    const zipped = await fetch(`${plugin.url}/tts/webhook`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', Authorization: `Bearer ${token}` },
      body: new Uint8Array(gzipSync(text)),
    });
    for (const [status, answer] of [[plain.status, plain.body], [zipped.status, await zipped.json()]] as const) {
      expect({ status, answer }).toEqual({
        status: 400,
        answer: { error: { code: 'invalid_json', message: 'request body is nested deeper than 64 levels', details: { max_depth: 64 } } },
      });
    }
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
  });

  it('an admin body nested 20,000 levels deep is a 400', async () => {
    const res = await plugin.request('POST', '/api/formatters/test', { raw: `{"direction":"downlink","input":${nestedText(20_000)}}` });
    expectError(res, 400, 'invalid_json');
    expect(res.body.error.message).toBe('request body is nested deeper than 64 levels');
  });

  it('a webhook nested 64 levels deep in decoded_payload is still taken', async () => {
    const res = await plugin.webhook(uplinkBody({ decoded: nested(60) as Record<string, unknown> }));
    expect(res.status).toBe(200);
  });
});
