/**
 * Downlinks with two plugin instances on one PostgreSQL database (two createApp in this process):
 * due work is claimed one item at a time right before it is done, a push is taken with a
 * conditional write before it is sent, and every report is written only over the state it read
 * (re-applied when another writer moved the message). So no downlink or status notification goes
 * out twice, and no report undoes another. Cases 4 and 5 run on SQLite within one instance too.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, APP, DEVICE, TTS_DEVICE, deviceWithDownlinks, ttsDownlinkEvent } from '../helpers/downlink-setup.js';
import { eventually } from '../helpers/eventually.js';
import { fixture } from '../helpers/fixtures.js';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { postgresForFile, type FilePostgres } from '../helpers/postgres.js';
import { TtsPeer } from '../helpers/tts-peer.js';

const CMD = { enabled: true, frequency: 300, threshold: 25 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Fake time one slow push (or post) takes: two of them outlive a 60 s lease taken for a whole batch. */
const SLOW_STEP_MS = 31_000;

/** How often each message (by our correlation id) was pushed to TTS. */
function pushesPerMessage(tts: TtsPeer): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of tts.requests) {
    const id = (r.body as { downlinks: { correlation_ids: string[] }[] }).downlinks[0]!.correlation_ids[0]!;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Moves the clock by SLOW_STEP_MS each time `count()` grows (each request seen while it is in flight
 * at a slow peer) and calls `onPassed` once the clock passed 61 s since the start; until stopped.
 */
function slowPeerClock(clock: TestClock, count: () => number, onPassed: () => void): { stop: () => Promise<void> } {
  let stopped = false;
  let moved = 0;
  const driving = (async () => {
    let seen = 0;
    while (!stopped) {
      while (count() > seen) {
        seen++;
        clock.advance(SLOW_STEP_MS);
        moved += SLOW_STEP_MS;
        if (moved > 61_000 && moved - SLOW_STEP_MS <= 61_000) onPassed();
      }
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await driving;
    },
  };
}

describe('downlinks with two instances on one PostgreSQL', () => {
  let pg: FilePostgres;
  const running: PluginHarness[] = [];
  let tts: TtsPeer | null = null;
  beforeAll(async () => {
    pg = await postgresForFile();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) await p.destroy().catch(() => undefined);
    await tts?.stop();
    tts = null;
  });
  afterAll(async () => {
    await pg?.stop();
  });

  const pair = async (clock?: TestClock) => {
    const databaseUrl = await pg.createDatabase();
    const a = await new PluginHarness({ databaseUrl, ...(clock ? { clock } : {}) }).start();
    running.push(a);
    const b = await new PluginHarness({ databaseUrl, ...(clock ? { clock } : {}) }).start();
    running.push(b);
    const peer = await new TtsPeer().start();
    tts = peer;
    return { a, b, tts: peer };
  };

  it('a due retry held by an instance whose TTS answers slowly is not pushed again by another instance when the clock passes 61 s mid-batch', async () => {
    const clock = new TestClock();
    const { a, b, tts } = await pair(clock);
    await deviceWithDownlinks(a, tts);
    for (let i = 0; i < 3; i++) {
      tts.respond({ status: 503, body: { code: 14, message: 'unavailable' } });
      const res = await a.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: `m${i}`, message: CMD, f_port: 15, ttl: 60 } });
      expect(res.body.result.detail).toBe('retrying');
    }
    tts.requests.length = 0;
    // all three retries due; TTS is slow now, and each push takes 31 s of the clock
    tts.respond(...Array.from({ length: 10 }, () => ({ status: 200, delayMs: 400 })));
    clock.advance(2_000);
    let other: Promise<void> | null = null;
    const driver = slowPeerClock(
      clock,
      () => tts.requests.length,
      () => {
        // 61 s after A's tick began, with A's second push in flight and its third not yet taken: B ticks
        other = b.app.services.downlinks.tick();
      },
    );
    try {
      await a.app.services.downlinks.tick();
      await eventually(async () => other !== null, 'the clock past 61 s', 5000);
      await other;
      await sleep(100);
    } finally {
      await driver.stop();
    }
    const counts = pushesPerMessage(tts);
    expect([...counts.values()], `pushes per message ${JSON.stringify([...counts])}`).toEqual([1, 1, 1]);
    for (let i = 0; i < 3; i++) {
      const m = (await b.request('GET', `/api/devices/${DEVICE}/messages/m${i}`)).body;
      expect(`${m.status}/${m.detail}`).toBe('PENDING/submitted');
    }
  });

  it('a status notification is posted once even when the clock passes 61 s while the holder waits for the receiver', async () => {
    const clock = new TestClock();
    const { a, b } = await pair(clock);
    const posts: number[] = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        posts.push((JSON.parse(body) as { n: number }).n);
        setTimeout(() => res.end('ok'), 400);
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notify`;
    try {
      for (let n = 0; n < 3; n++) {
        await a.store.enqueueNotification(url, { n, notify_data: { header: { app_id: APP, device_id: DEVICE } } });
      }
      let other: Promise<void> | null = null;
      const driver = slowPeerClock(
        clock,
        () => posts.length,
        () => {
          other = b.app.services.notifier.deliverDue();
        },
      );
      try {
        await a.app.services.notifier.deliverDue();
        await eventually(async () => other !== null, 'the clock past 61 s', 5000);
        await other;
        await sleep(100);
      } finally {
        await driver.stop();
      }
      expect([...posts].sort(), `posts ${JSON.stringify(posts)}`).toEqual([0, 1, 2]);
    } finally {
      receiver.closeAllConnections();
      receiver.close();
    }
  });

  it('a waiting downlink flushed by credentials arriving at two instances at once (join_accept at A, uplink at B) is pushed once', async () => {
    const { a, b, tts } = await pair();
    await deviceWithDownlinks(a, tts, {}, { withCredentials: false });
    const token = await a.webhookToken(APP);
    const pushes: number[] = [];
    for (let i = 0; i < 5; i++) {
      // forget the credentials so the next pair brings them anew
      expect(await a.store.putCredentials(DEVICE, {})).toBe(true);
      const res = await a.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: `w${i}`, message: CMD, f_port: 15 } });
      expect(res.body.result.detail).toBe('waiting_for_uplink');
      tts.requests.length = 0;
      // slow answers: both instances list the waiting message before either push is answered
      tts.respond({ status: 200, delayMs: 200 }, { status: 200, delayMs: 200 });
      const headers = tts.downlinkHeaders(APP, TTS_DEVICE, `${API_KEY}-${i}`);
      const up = fixture('tts/uplink_message.json') as { uplink_message: { f_cnt: number } };
      up.uplink_message.f_cnt = 100 + i;
      await Promise.all([a.webhook(fixture('tts/join_accept.json'), { token, headers }), b.webhook(up, { token, headers })]);
      await eventually(
        async () => (await a.request('GET', `/api/devices/${DEVICE}/messages/w${i}`)).body.detail === 'submitted',
        `w${i} submitted`,
        5000,
      );
      // a second push, if any, is under way by now and answered within 200 ms
      await sleep(400);
      pushes.push(tts.requests.length);
    }
    expect(pushes, 'pushes per round').toEqual([1, 1, 1, 1, 1]);
  });

  it('downlink_queued at A and downlink_sent at B at once: the message ends DELIVERED/sent every time', async () => {
    const { a, b, tts } = await pair();
    await deviceWithDownlinks(a, tts);
    const token = await a.webhookToken(APP);
    const finals = await queuedAndSentRounds(a, b, token, 30);
    expect(finals.filter((f) => f !== 'DELIVERED/sent'), finals.join(' ')).toEqual([]);
  });

  it('a tick that claimed an expiring message does not overwrite a DELIVERED written meanwhile (to another instance) with TIMEOUT', async () => {
    const clock = new TestClock();
    const { a, b, tts } = await pair(clock);
    await deviceWithDownlinks(a, tts);
    const token = await a.webhookToken(APP);
    expect(await reportBetweenClaimAndExpiry(a, b, clock, token)).toBe('DELIVERED/sent');
  });
});

describe('downlinks within one instance on SQLite', () => {
  let plugin: PluginHarness | null = null;
  let tts: TtsPeer | null = null;
  afterEach(async () => {
    await plugin?.destroy().catch(() => undefined);
    plugin = null;
    await tts?.stop();
    tts = null;
  });

  // Two reports sent at once rarely interleave within one instance on SQLite (its reads do not wait),
  // so the interleaving is forced: downlink_sent lands between downlink_queued's read and its write.
  it('a downlink_queued whose write is overtaken by downlink_sent does not take the DELIVERED message back to PENDING/queued', async () => {
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
    await deviceWithDownlinks(plugin, tts);
    const token = await plugin.webhookToken(APP);
    const res = await plugin.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: 'q1', message: CMD, f_port: 15 } });
    expect(res.body.result.detail).toBe('submitted');
    const m = (await plugin.request('GET', `/api/devices/${DEVICE}/messages/q1`)).body;
    const store = plugin.store;
    const read = store.getMessageByCorrelation.bind(store);
    const sender = plugin;
    let injected = 0;
    store.getMessageByCorrelation = async (id) => {
      const got = await read(id);
      if (injected === 0 && got?.messageId === 'q1') {
        injected++;
        expect((await sender.webhook(ttsDownlinkEvent('downlink_sent', m.correlation_id), { token })).status).toBe(200);
      }
      return got;
    };
    try {
      expect((await plugin.webhook(ttsDownlinkEvent('downlink_queued', m.correlation_id), { token })).status).toBe(200);
    } finally {
      store.getMessageByCorrelation = read;
    }
    expect(injected).toBe(1);
    const after = (await plugin.request('GET', `/api/devices/${DEVICE}/messages/q1`)).body;
    expect(`${after.status}/${after.detail}`).toBe('DELIVERED/sent');
  });

  it('a tick that claimed an expiring message does not overwrite a DELIVERED written meanwhile with TIMEOUT', async () => {
    const clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    tts = await new TtsPeer().start();
    await deviceWithDownlinks(plugin, tts);
    const token = await plugin.webhookToken(APP);
    expect(await reportBetweenClaimAndExpiry(plugin, plugin, clock, token)).toBe('DELIVERED/sent');
  });
});

/** Rounds of a pushed message whose queued report reaches `a` while its sent report reaches `b`; each round's final status/detail. */
async function queuedAndSentRounds(a: PluginHarness, b: PluginHarness, token: string, rounds: number): Promise<string[]> {
  const finals: string[] = [];
  for (let i = 0; i < rounds; i++) {
    const res = await a.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: `q${i}`, message: CMD, f_port: 15 } });
    expect(res.body.result.detail).toBe('submitted');
    const m = (await a.request('GET', `/api/devices/${DEVICE}/messages/q${i}`)).body;
    const [queued, sent] = await Promise.all([
      a.webhook(ttsDownlinkEvent('downlink_queued', m.correlation_id), { token }),
      b.webhook(ttsDownlinkEvent('downlink_sent', m.correlation_id), { token }),
    ]);
    expect([queued.status, sent.status]).toEqual([200, 200]);
    const after = (await a.request('GET', `/api/devices/${DEVICE}/messages/q${i}`)).body;
    finals.push(`${after.status}/${after.detail}`);
  }
  return finals;
}

/**
 * A pushed message with a TTL of 0 expires; `a`'s tick claims it, and its downlink_sent report lands
 * (at `reporter`) between that claim and the tick's write. The message's final status/detail.
 */
async function reportBetweenClaimAndExpiry(a: PluginHarness, reporter: PluginHarness, clock: TestClock, token: string): Promise<string> {
  const created = await a.request('POST', `/api/devices/${DEVICE}/messages`, { body: { message_id: 'e1', message: CMD, f_port: 15, ttl: 0 } });
  expect(created.body.result.detail).toBe('submitted');
  const m = (await a.request('GET', `/api/devices/${DEVICE}/messages/e1`)).body;
  const store = a.store;
  const claim = store.claimDueMessages.bind(store);
  let injected = 0;
  // the tick claims one message at a time: the report lands once, after the claim that took e1
  store.claimDueMessages = async (q) => {
    const got = await claim(q);
    if (injected === 0 && got.some((g) => g.messageId === 'e1')) {
      injected++;
      const res = await reporter.webhook(ttsDownlinkEvent('downlink_sent', m.correlation_id), { token });
      expect(res.status).toBe(200);
    }
    return got;
  };
  try {
    clock.advance(1);
    await a.app.services.downlinks.tick();
  } finally {
    store.claimDueMessages = claim;
  }
  expect(injected).toBe(1);
  const after = (await a.request('GET', `/api/devices/${DEVICE}/messages/e1`)).body;
  return `${after.status}/${after.detail}`;
}
