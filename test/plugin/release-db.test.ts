import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { FixedPortStandIn, NOTIFICATION_STAND_IN, TTS_STAND_IN } from '../fixtures/release-db/stand-ins.js';

/**
 * A data dir written by the release at 6f9f24d (test/fixtures/release-db/generate.ts, run from a
 * worktree of that commit), opened by today's code: every record reads back as the release showed
 * it, and what the release left half-done (dedupe windows, downlink credentials, retries, waiting
 * downlinks, the notification outbox) carries on.
 */
const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'release-db');

interface ReleaseAnswer {
  status: number;
  body: any;
}

interface Expected {
  release: string;
  database: string;
  /** The TestClock's time when the release answered (device `connected` depends on it). */
  clock: string;
  inputs: {
    tts_stand_in: string;
    notification_receiver: string;
    /** X-Downlink-Apikey of each downlink-ready device. */
    api_keys: Record<string, string>;
    /** Every uplink webhook the release took, in order, with its answer. */
    uplinks: { device_id: string; app_id: string; answer: { status: string; device_id: string }; body: any }[];
  };
  /** GET path -> the release's answer (CSV as text; /v5/iot/ paths read with X-Auth-Token). */
  api: Record<string, ReleaseAnswer>;
  /** The notification outbox as the release's SqliteStore.listDueNotifications returned it. */
  notifications: any[];
}

const expected = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Expected;

// ---------------------------------------------------------------------------------------------
// THE ONE PLACE that maps the release's shapes to today's. Identity while the API is unchanged;
// when a route or field moves, say it here (the release's answers in expected.json stay as they are).
// ---------------------------------------------------------------------------------------------
const releaseToCurrent = {
  /** Where today's API answers what the release answered at `releasePath`. */
  path(releasePath: string): string {
    return releasePath;
  },
  /** The answer today's API should give, from the release's answer at `releasePath`. */
  answer(releasePath: string, release: ReleaseAnswer): ReleaseAnswer {
    const body = networkNeutral(release.body);
    // Migration 6: each profile's formatter then is its version 1, which a profile's own page names.
    if (/^\/api\/profiles\/[^/]+$/.test(releasePath) && release.status === 200) body.formatter_version = 1;
    return { ...release, body };
  },
  /** A row of the notification outbox as today's store lists it. */
  notification(release: any): unknown {
    return release;
  },
};

/** TTS ids as the networks seam names them: `{network, app_id, network_device_id, …EUIs}`. */
function neutralIds(tts: Record<string, unknown>): Record<string, unknown> {
  const { device_id, application_id, ...rest } = tts;
  return { network: 'tts', app_id: application_id, network_device_id: device_id, ...rest };
}

/**
 * The release's JSON in today's shapes (migration 4): profiles have a network; devices carry
 * `network` and neutral `ids` instead of `tts`, and so does their `device` property; messages and
 * dead letters say their network, and a message's `tts_request` is its `request`.
 */
function networkNeutral(value: any): any {
  if (Array.isArray(value)) return value.map(networkNeutral);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, networkNeutral(v)]));
  if ('formatter' in out && 'uplink' in out && 'downlink' in out && 'app_id' in out) out.network = 'tts';
  if ('tts' in out && 'bucket_id' in out) {
    const { tts, ...rest } = out;
    Object.assign(rest, { network: 'tts', ids: neutralIds(tts as Record<string, unknown>) });
    const props = rest.properties as Record<string, any> | undefined;
    if (props?.device?.device_id !== undefined) rest.properties = { ...props, device: neutralIds(props.device) };
    return rest;
  }
  if ('tts_request' in out) {
    const { tts_request, ...rest } = out;
    return { ...rest, network: 'tts', request: tts_request };
  }
  if ('reason' in out && 'replayed_at' in out && 'body' in out) out.network = 'tts';
  if ('template' in out && 'base_url' in out) out.network = 'tts';
  if (out.name === 'device' && (out.value as Record<string, unknown> | undefined)?.device_id !== undefined) out.value = neutralIds(out.value as Record<string, unknown>);
  return out;
}

/** The release's answer at a path (for inputs the later tests need: tokens, stored downlinks). */
function released(path: string): any {
  const answer = expected.api[path];
  if (!answer) throw new Error(`expected.json has no answer for ${path}`);
  return answer.body;
}

/** The webhook token the release stored for a profile. */
function storedToken(profile: string): string {
  return String(released(`/api/profiles/${profile}/webhook`).headers.Authorization).replace(/^Bearer /, '');
}

/** The release's view of one of its downlink messages. */
function storedMessage(deviceId: string, messageId: string): any {
  return released(`/api/devices/${deviceId}/messages/${messageId}`);
}

const GREENHOUSE = 'gh-70B3D57ED0051A2B';
const ORCHARD = 'or-apple-row-07';
const MEADOW = 'A84041000181C0DE';
/** Apps without a profile of their own use Default's token. */
const PROFILE_OF: Record<string, string> = { 'greenhouse-app': 'greenhouse-app', 'orchard-app': 'orchard-app', 'meadow-app': 'default' };

/**
 * The next uplink of a device as TTS would send it: the last one the release stored, with the
 * f_cnt after the highest the device sent in that session (dead-lettered ones count too).
 */
function nextUplink(deviceId: string, receivedAt: string): any {
  const sent = expected.inputs.uplinks.filter((u) => u.device_id === deviceId);
  const last = sent.filter((u) => u.answer.status === 'stored').at(-1)!;
  const session = last.body.uplink_message.session_key_id;
  const body = structuredClone(last.body);
  body.uplink_message.f_cnt = 1 + Math.max(...sent.filter((u) => u.body.uplink_message.session_key_id === session).map((u) => u.body.uplink_message.f_cnt));
  body.uplink_message.received_at = receivedAt;
  body.received_at = receivedAt;
  return body;
}

function downlinkHeaders(app: string, ttsDevice: string, apiKey: string): Record<string, string> {
  const base = `${expected.inputs.tts_stand_in}/api/v3/as/applications/${app}/webhooks/bridge/devices/${ttsDevice}/down`;
  return { 'X-Downlink-Apikey': apiKey, 'X-Downlink-Push': `${base}/push`, 'X-Downlink-Replace': `${base}/replace` };
}

describe(`a data dir written by release ${expected.release}`, () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  let tts: FixedPortStandIn;
  let receiver: FixedPortStandIn;

  beforeEach(async () => {
    // The stand-ins listen where the fixture's stored URLs point.
    expect(`http://${TTS_STAND_IN.host}:${TTS_STAND_IN.port}`).toBe(expected.inputs.tts_stand_in);
    expect(`http://${NOTIFICATION_STAND_IN.host}:${NOTIFICATION_STAND_IN.port}`).toBe(expected.inputs.notification_receiver);
    tts = await new FixedPortStandIn(TTS_STAND_IN).start();
    receiver = await new FixedPortStandIn(NOTIFICATION_STAND_IN).start();
    const dataDir = mkdtempSync(join(tmpdir(), 'plugin-release-db-'));
    copyFileSync(join(FIXTURES, expected.database), join(dataDir, 'plugin.db'));
    clock = new TestClock(Date.parse(expected.clock));
    plugin = await new PluginHarness({ clock, dataDir }).start();
  });

  afterEach(async () => {
    await plugin?.destroy();
    await tts?.stop();
    await receiver?.stop();
  });

  const webhook = (profile: string, body: unknown, headers?: Record<string, string>) =>
    plugin.request('POST', '/tts/webhook', { body, token: storedToken(profile), ...(headers ? { headers } : {}) });

  it('reads every record back through the API as the release answered', async () => {
    const paths = Object.keys(expected.api);
    expect(paths.length).toBeGreaterThan(40);
    for (const path of paths) {
      const want = releaseToCurrent.answer(path, expected.api[path]);
      const current = releaseToCurrent.path(path);
      const res = current.startsWith('/v5/iot/')
        ? await plugin.request('GET', current, { token: null, headers: { 'X-Auth-Token': ADMIN_TOKEN } })
        : await plugin.request('GET', current);
      const body = res.headers.get('content-type')?.startsWith('text/csv') ? res.text : res.body;
      expect.soft({ status: res.status, body }, `GET ${current} (release: ${path})`).toEqual(want);
    }
    // The outbox has no API: the store lists it.
    const outbox = await plugin.store.listDueNotifications('9999-12-31T23:59:59.999Z', 1000);
    expect.soft(outbox, 'notification outbox').toEqual(expected.notifications.map((n) => releaseToCurrent.notification(n)));
  });

  it('takes webhooks with the stored tokens; the dedupe windows carried over', async () => {
    const rows = async (bucket: string) => (await plugin.request('GET', `/api/buckets/${bucket}/data?order=asc&limit=100000`)).body.items;
    const buckets = { [GREENHOUSE]: 'gh-data-70B3D57ED0051A2B', [ORCHARD]: 'or-b-apple-row-07', [MEADOW]: MEADOW };
    const before = Object.fromEntries(await Promise.all(Object.entries(buckets).map(async ([d, b]) => [d, await rows(b)])));

    // Every uplink the release took (stored or dead-lettered, both sessions of the meadow probe) is a resend now.
    expect(expected.inputs.uplinks.length).toBeGreaterThanOrEqual(9);
    for (const up of expected.inputs.uplinks) {
      const res = await webhook(PROFILE_OF[up.app_id], up.body);
      expect({ f_cnt: up.body.uplink_message.f_cnt, status: res.status, body: res.body }).toEqual({
        f_cnt: up.body.uplink_message.f_cnt,
        status: 200,
        body: { status: 'duplicate', device_id: up.device_id },
      });
    }

    // The next f_cnt of each device is new data: stored in the device's bucket, through its formatter.
    clock.advance(60_000);
    const receivedAt = `${clock.now().toISOString().slice(0, 23)}123456Z`;
    const outputs: Record<string, unknown> = {
      [GREENHOUSE]: { temperature: 22.5, humidity: 42.3, rssi: expect.any(Number) }, // Thinger style
      [ORCHARD]: { temperature: 19.02, humidity: 61.05 }, // TTS style
      [MEADOW]: { moisture: 32, temperature: 14 }, // Default: TTS's decoded_payload
    };
    for (const [deviceId, app] of [[GREENHOUSE, 'greenhouse-app'], [ORCHARD, 'orchard-app'], [MEADOW, 'meadow-app']] as const) {
      const res = await webhook(PROFILE_OF[app], nextUplink(deviceId, receivedAt));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ status: 'stored', device_id: deviceId });
      const after = await rows(buckets[deviceId]);
      expect(after.slice(0, -1)).toEqual(before[deviceId]);
      expect(after.at(-1)).toEqual({ ts: `${receivedAt.slice(0, 23)}Z`, data: outputs[deviceId] });
      expect((await plugin.request('GET', `/api/devices/${deviceId}`)).body.last_seen_at).toBe(`${receivedAt.slice(0, 23)}Z`);
    }
    // ... and sent again, a duplicate.
    const again = await webhook('greenhouse-app', nextUplink(GREENHOUSE, receivedAt));
    expect(again.body).toEqual({ status: 'duplicate', device_id: GREENHOUSE });

    // A token the release never had is still refused.
    const refused = await plugin.request('POST', '/tts/webhook', { body: nextUplink(GREENHOUSE, receivedAt), token: 'not-the-webhook-token' });
    expect(refused.status).toBe(401);
  });

  it('sends downlinks to TTS with the credentials the release stored', async () => {
    // A new message for each downlink-ready device: greenhouse pushes, orchard replaces (push: false).
    const created = await plugin.request('POST', `/api/devices/${GREENHOUSE}/messages`, {
      body: { message_id: 'after-upgrade-1', message: { enabled: true, frequency: 60, threshold: 5 }, f_port: 15 },
    });
    expect(created.status).toBe(201);
    expect(created.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    const ghMessage = (await plugin.request('GET', `/api/devices/${GREENHOUSE}/messages/after-upgrade-1`)).body;
    const orchard = await plugin.request('POST', `/api/devices/${ORCHARD}/messages`, {
      body: { message_id: 'after-upgrade-2', message: { enabled: true, frequency: 300, threshold: 12 } },
    });
    expect(orchard.body.result).toMatchObject({ status: 'PENDING', detail: 'submitted' });
    const orMessage = (await plugin.request('GET', `/api/devices/${ORCHARD}/messages/after-upgrade-2`)).body;

    expect(tts.requests.map((r) => ({ method: r.method, path: r.path, authorization: r.headers.authorization, body: r.body }))).toEqual([
      {
        method: 'POST',
        path: '/api/v3/as/applications/greenhouse-app/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/push',
        authorization: `Bearer ${expected.inputs.api_keys[GREENHOUSE]}`,
        body: {
          downlinks: [
            {
              f_port: 15,
              frm_payload: Buffer.from([1, 0, 60, 5]).toString('base64'),
              priority: 'NORMAL',
              confirmed: false,
              correlation_ids: [ghMessage.correlation_id],
            },
          ],
        },
      },
      {
        method: 'POST',
        path: '/api/v3/as/applications/orchard-app/webhooks/bridge/devices/apple-row-07/down/replace',
        authorization: `Bearer ${expected.inputs.api_keys[ORCHARD]}`,
        body: {
          downlinks: [
            {
              f_port: 10,
              frm_payload: Buffer.from([1, 1, 44, 12]).toString('base64'),
              priority: 'LOWEST',
              confirmed: true,
              correlation_ids: [orMessage.correlation_id],
            },
          ],
        },
      },
    ]);

    // A message the release left retrying goes out at its next attempt, as the release formatted it.
    const retrying = storedMessage(GREENHOUSE, 'gh-cfg-4');
    expect(retrying).toMatchObject({ status: 'PENDING', detail: 'retrying' });
    clock.advance(1000);
    await plugin.app.services.downlinks.tick();
    expect(tts.requests).toHaveLength(3);
    expect(tts.requests[2]).toMatchObject({
      path: '/api/v3/as/applications/greenhouse-app/webhooks/bridge/devices/eui-70b3d57ed0051a2b/down/push',
      headers: { authorization: `Bearer ${expected.inputs.api_keys[GREENHOUSE]}` },
      body: retrying.tts_request,
    });
    expect((await plugin.request('GET', `/api/devices/${GREENHOUSE}/messages/gh-cfg-4`)).body).toMatchObject({
      status: 'PENDING',
      detail: 'submitted',
      attempts: retrying.attempts + 1,
    });

    // TTS events about a message the release pushed still find it by its correlation id.
    const nacked = storedMessage(ORCHARD, 'or-2');
    expect(nacked).toMatchObject({ status: 'PENDING', detail: 'not_acknowledged' });
    const orchardIds = expected.inputs.uplinks.find((u) => u.device_id === ORCHARD)!.body.end_device_ids;
    const ack = await webhook('orchard-app', {
      end_device_ids: orchardIds,
      correlation_ids: ['as:downlink:01JTAFTERUPGRADEACK0000000', nacked.correlation_id],
      received_at: clock.now().toISOString(),
      downlink_ack: { f_port: 10, confirmed: true, correlation_ids: ['as:downlink:01JTAFTERUPGRADEACK0000000', nacked.correlation_id] },
    });
    expect(ack.status).toBe(200);
    expect((await plugin.request('GET', `/api/devices/${ORCHARD}/messages/or-2`)).body).toMatchObject({ status: 'DELIVERED', detail: 'acknowledged' });

    // Messages the release kept waiting for the meadow probe's push URL go out once it sends one.
    const waiting = ['md-1', 'md-iotda-1'].map((id) => storedMessage(MEADOW, id));
    for (const m of waiting) expect(m).toMatchObject({ status: 'PENDING', detail: 'waiting_for_uplink' });
    const meadowIds = expected.inputs.uplinks.find((u) => u.device_id === MEADOW)!.body.end_device_ids;
    clock.advance(60_000);
    const up = await webhook('default', nextUplink(MEADOW, clock.now().toISOString()), downlinkHeaders('meadow-app', meadowIds.device_id, 'NNSXS.MEADOW.AFTER-UPGRADE'));
    expect(up.body).toEqual({ status: 'stored', device_id: MEADOW });
    await expect.poll(() => tts.requests.length).toBe(5);
    expect(tts.requests.slice(3).map((r) => ({ path: r.path, authorization: r.headers.authorization, body: r.body }))).toEqual(
      waiting.map((m) => ({
        path: '/api/v3/as/applications/meadow-app/webhooks/bridge/devices/soil-probe-03/down/push',
        authorization: 'Bearer NNSXS.MEADOW.AFTER-UPGRADE',
        body: m.tts_request,
      })),
    );
  });

  it('delivers the status notifications the release left in its outbox', async () => {
    expect(expected.notifications.length).toBeGreaterThan(0);
    clock.advance(60_000);
    await plugin.app.services.notifier.deliverDue();
    expect(receiver.requests.map((r) => ({ method: r.method, path: r.path, body: r.body }))).toEqual(
      expected.notifications.map((n) => ({ method: 'POST', path: new URL(n.url).pathname, body: n.body })),
    );
    expect(await plugin.store.listDueNotifications('9999-12-31T23:59:59.999Z', 1000)).toEqual([]);
  });
});
