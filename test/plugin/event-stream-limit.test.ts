import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_STREAMS_PER_TOKEN, STREAM_RETRY_AFTER_S } from '../../plugin/routes/events.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { SseClient } from '../helpers/sse.js';
import { expectError, uplinkBody } from '../helpers/tts-bodies.js';

const AUTH = { Authorization: `Bearer ${ADMIN_TOKEN}` };

describe('concurrent event streams per token', () => {
  let plugin: PluginHarness;
  let streams: SseClient[];

  beforeEach(async () => {
    plugin = await new PluginHarness().start();
    streams = [];
  });
  afterEach(async () => {
    for (const s of streams) s.close();
    await plugin.destroy();
  });

  /** Opens a stream; a 200 one is read up to its first frame, so the server has set it up. */
  const open = async (query = '') => {
    const sse = await new SseClient(`${plugin.url}/api/events/stream${query}`, AUTH).open();
    streams.push(sse);
    if (sse.status === 200) await sse.next((f) => f.retry !== undefined);
    return sse;
  };

  it(`allows ${MAX_STREAMS_PER_TOKEN}, refuses the next with 429 too_many_streams and Retry-After, and frees a place when one closes`, async () => {
    expect(MAX_STREAMS_PER_TOKEN).toBe(8);
    for (let i = 0; i < MAX_STREAMS_PER_TOKEN; i++) expect((await open(i % 2 ? '?category=uplink' : '')).status).toBe(200);

    const extra = await open();
    expect(extra.status).toBe(429);
    expect(extra.headers.get('retry-after')).toBe(String(STREAM_RETRY_AFTER_S));
    // The refusal is an ordinary JSON answer in the one error shape.
    const refused = await plugin.request('GET', '/api/events/stream');
    expectError(refused, 429, 'too_many_streams');
    expect(refused.body.error.details).toEqual({ limit: MAX_STREAMS_PER_TOKEN, retry_after_s: STREAM_RETRY_AFTER_S });
    expect(refused.headers.get('retry-after')).toBe(String(STREAM_RETRY_AFTER_S));

    // The rest of the API is not held up by the cap.
    expect((await plugin.request('GET', '/api/events')).status).toBe(200);

    // The open streams still deliver.
    await plugin.webhook(uplinkBody({ bytes: [1] }));
    await streams[0].nextEvent((e) => e.category === 'uplink');
    await streams[1].nextEvent((e) => e.category === 'uplink');

    // A client closing its stream frees its place (the server sees the close a moment later).
    streams[0].close();
    await expect.poll(async () => (await open()).status, { timeout: 5000, interval: 50 }).toBe(200);
    expect((await open()).status).toBe(429);
  });

  it('gives back every place when streams close; unauthorized, invalid or refused requests take none', async () => {
    const noToken = await new SseClient(`${plugin.url}/api/events/stream`, {}).open();
    expect(noToken.status).toBe(401);
    const badQuery = await new SseClient(`${plugin.url}/api/events/stream?severity=loud`, AUTH).open();
    expect(badQuery.status).toBe(400);
    for (let i = 0; i < MAX_STREAMS_PER_TOKEN; i++) expect((await open()).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await open()).status).toBe(429);

    // Closing every stream gives back every place, not just one.
    for (const s of streams.splice(0)) s.close();
    await expect.poll(async () => (await open()).status, { timeout: 5000, interval: 50 }).toBe(200);
    for (let i = 1; i < MAX_STREAMS_PER_TOKEN; i++) expect((await open()).status).toBe(200);
    expect((await open()).status).toBe(429);
  });
});
