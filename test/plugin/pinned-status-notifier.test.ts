import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_NOTIFICATION_ATTEMPTS, StatusNotifier } from '../../plugin/pipeline/status-notifier.js';
import type { NotificationRecord } from '../../plugin/store/records.js';
import { TestClock } from '../helpers/plugin-harness.js';

/** The notifier's outbox, in memory, with the store's semantics (null next attempt = done). */
class FakeOutbox {
  rows: NotificationRecord[] = [];
  private nextId = 1;
  constructor(private readonly clock: TestClock) {}
  async enqueueNotification(url: string, body: any): Promise<void> {
    const now = this.clock.now().toISOString();
    this.rows.push({ id: this.nextId++, url, body, attempts: 0, nextAttemptAt: now, createdAt: now });
  }
  async listDueNotifications(dueBefore: string, limit: number): Promise<NotificationRecord[]> {
    return this.rows
      .filter((r) => r.nextAttemptAt !== null && r.nextAttemptAt <= dueBefore)
      .slice(0, limit)
      .map((r) => ({ ...r }));
  }
  async claimDueNotifications(q: { dueBefore: string; leaseUntil: string; limit: number }): Promise<NotificationRecord[]> {
    const due = await this.listDueNotifications(q.dueBefore, q.limit);
    for (const r of due) this.rows.find((row) => row.id === r.id)!.nextAttemptAt = q.leaseUntil;
    return due;
  }
  async rescheduleNotification(id: number, attempts: number, nextAttemptAt: string | null): Promise<void> {
    const row = this.rows.find((r) => r.id === id)!;
    row.attempts = attempts;
    row.nextAttemptAt = nextAttemptAt as string;
  }
}

interface Received {
  headers: IncomingHttpHeaders;
  body: any;
}

const body = (messageId: string) => ({
  resource: 'device.message.status',
  notify_data: { header: { app_id: 'greenhouse-app', device_id: 'DEV1' }, body: { message_id: messageId, status: 'PENDING' } },
});

describe('status notifier delivery', () => {
  let clock: TestClock;
  let outbox: FakeOutbox;
  let events: any[];
  let notifier: StatusNotifier;
  let server: Server;
  let url: string;
  let received: Received[];
  let answer: { status: number; delayMs?: number };

  beforeEach(async () => {
    clock = new TestClock();
    outbox = new FakeOutbox(clock);
    events = [];
    received = [];
    answer = { status: 204 };
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        const { status, delayMs } = answer;
        setTimeout(() => res.writeHead(status).end(), delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
    notifier = new StatusNotifier({
      store: outbox as any,
      profiles: {} as any,
      events: { record: async (e: any) => void events.push(e) } as any,
      clock,
      userAgent: 'pinned-test-agent/1.0',
      timeoutMs: 2000,
      leaseMs: 60_000,
      background: { run: () => undefined } as any,
      random: () => 0.5,
    });
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts JSON with Content-Type application/json and the plugin\'s User-Agent', async () => {
    await outbox.enqueueNotification(url, body('m1'));
    await notifier.deliverDue();
    expect(received).toHaveLength(1);
    expect(received[0].headers['content-type']).toBe('application/json');
    expect(received[0].headers['user-agent']).toBe('pinned-test-agent/1.0');
    expect(received[0].body).toEqual(body('m1'));
    expect(outbox.rows[0]).toMatchObject({ attempts: 1, nextAttemptAt: null });
  });

  it('gives up after MAX_NOTIFICATION_ATTEMPTS refused attempts, and records an error event', async () => {
    answer = { status: 503 };
    await outbox.enqueueNotification(url, body('m1'));
    for (let i = 1; i < MAX_NOTIFICATION_ATTEMPTS; i++) {
      await notifier.deliverDue();
      expect(outbox.rows[0].attempts).toBe(i);
      expect(outbox.rows[0].nextAttemptAt, `still scheduled after attempt ${i}`).not.toBeNull();
      clock.advance(3_600_000);
    }
    expect(events).toEqual([]);
    await notifier.deliverDue();
    expect(received).toHaveLength(MAX_NOTIFICATION_ATTEMPTS);
    expect(outbox.rows[0]).toMatchObject({ attempts: MAX_NOTIFICATION_ATTEMPTS, nextAttemptAt: null });
    expect(events).toEqual([
      {
        appId: 'greenhouse-app',
        deviceId: 'DEV1',
        category: 'downlink',
        severity: 'error',
        title: `Status notification given up after ${MAX_NOTIFICATION_ATTEMPTS} attempts: HTTP 503`,
        details: { url },
      },
    ]);
    clock.advance(3_600_000);
    await notifier.deliverDue();
    expect(received).toHaveLength(MAX_NOTIFICATION_ATTEMPTS); // never tried again
  });

  it('retries later when the receiver is unreachable (network error), with backoff', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/notify`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    await outbox.enqueueNotification(deadUrl, body('m1'));
    await notifier.deliverDue();
    // first retry after backoffMs(1) with random 0.5: 500 + 250 ms
    expect(outbox.rows[0]).toMatchObject({ attempts: 1, nextAttemptAt: new Date(clock.now().getTime() + 750).toISOString() });
    expect(events).toEqual([]);
    clock.advance(749);
    await notifier.deliverDue();
    expect(outbox.rows[0].attempts).toBe(1); // not due yet
    clock.advance(1);
    await notifier.deliverDue();
    expect(outbox.rows[0].attempts).toBe(2);
    expect(outbox.rows[0].nextAttemptAt).not.toBeNull();
  });

  it('gives up on an unreachable receiver too, naming the network error', async () => {
    await outbox.enqueueNotification('http://127.0.0.1:1/notify', body('m1'));
    outbox.rows[0].attempts = MAX_NOTIFICATION_ATTEMPTS - 1;
    await notifier.deliverDue();
    expect(outbox.rows[0]).toMatchObject({ attempts: MAX_NOTIFICATION_ATTEMPTS, nextAttemptAt: null });
    expect(events).toHaveLength(1);
    expect(events[0].title).toMatch(new RegExp(`^Status notification given up after ${MAX_NOTIFICATION_ATTEMPTS} attempts: \\S`));
    expect(events[0].title).not.toContain('HTTP');
  });

  it('delivers a notification queued during a delivery pass by running another pass', async () => {
    answer = { status: 204, delayMs: 100 };
    await outbox.enqueueNotification(url, body('m1'));
    const first = notifier.deliverDue();
    // the first pass has listed what was due and is waiting for the receiver
    await expect.poll(() => received.length, { interval: 5 }).toBe(1);
    await outbox.enqueueNotification(url, body('m2'));
    const second = notifier.deliverDue();
    await Promise.all([first, second]);
    expect(received.map((r) => r.body.notify_data.body.message_id)).toEqual(['m1', 'm2']);
    expect(outbox.rows.map((r) => r.nextAttemptAt)).toEqual([null, null]);
  });
});
