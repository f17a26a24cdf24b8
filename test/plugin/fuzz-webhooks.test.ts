/**
 * Property-based fuzzing of every TTS webhook path: any input gets a 2xx or a 4xx in the error
 * shape, never a 5xx and never no answer, and a 4xx leaves the store as it was.
 *
 * "Nothing stored on a 4xx" means: no durable table changes at all (profiles, devices, their
 * properties and credentials, buckets and rows, dead letters, messages, notifications, any table a
 * migration adds), and no event either, with one exception the README documents (security model,
 * "An outsider ... costs no durable write per request: per profile, the first refusal of each
 * minute is an event"): a 401 may add at most one event, of category `auth`.
 *
 * Replay a failure with the seed it prints: FUZZ_SEED=<seed> npx vitest run test/plugin/fuzz-webhooks.test.ts
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyMutations,
  checkProperty,
  countAnswer,
  dateTimeString,
  encodeBody,
  errorShapeProblem,
  fieldMutationArb,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzProperty,
  hostileObject,
  JSON_CONTENT_TYPES,
  mutationArb,
  nastyString,
  pct,
  preview,
  rawBodyArb,
  runs,
  send,
  StoreWatch,
  toJsonText,
  transportArb,
  validDateTimeString,
  weirdValue,
  type FuzzRequest,
  type FuzzResponse,
  type StoreSnapshot,
  type Transport,
} from '../helpers/fuzz.js';
import { fixture } from '../helpers/fixtures.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK } from '../helpers/tts-bodies.js';

/** Profiles the bodies are sent for; `stranger-app` has none, so the Default profile (and token) applies. */
const APPS = ['greenhouse-app', 'none-app', 'off-app', 'strict-app', 'stranger-app'] as const;

/** Every TTS message type the fixtures hold (uplink, join, downlink queued/sent/ack/nack/failed, queue invalidated, location solved, service data, normalized uplink). */
const FIXTURES = readdirSync(fileURLToPath(new URL('../fixtures/tts/', import.meta.url)))
  .filter((f) => f.endsWith('.json') && !f.startsWith('down_push'))
  .sort();

/** The webhook paths TTS is told to use (README "Wiring The Things Stack to it"; the manifest lists the same). */
const KNOWN_PATHS = [
  '/uplink',
  '/tts/webhook',
  ...[
    'uplink-message',
    'uplink-normalized',
    'join-accept',
    'downlink-ack',
    'downlink-nack',
    'downlink-sent',
    'downlink-failed',
    'downlink-queued',
    'downlink-queue-invalidated',
    'location-solved',
    'service-data',
  ].map((p) => `/tts/webhook/${p}`),
];

/** Keys the mutations may add: every field name the fixtures use, and every message type. */
const FIELD_NAMES = [
  ...new Set(
    FIXTURES.flatMap((f) => {
      const keys: string[] = [];
      const walk = (v: unknown) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (typeof v === 'object' && v !== null)
          for (const [k, x] of Object.entries(v)) {
            keys.push(k);
            walk(x);
          }
      };
      walk(fixture(`tts/${f}`));
      return keys;
    }),
  ),
  '__proto__',
  'constructor',
];

const port = fc.oneof(fc.constantFrom(0, 1, 2, 223, 224, 255, 256, -1, 1.5, '2', null), fc.integer({ min: 0, max: 255 }));
const counter = fc.oneof(fc.constantFrom(0, 1, 2 ** 16, 2 ** 32 - 1, 2 ** 32, -1, 1.5, 2 ** 53, '1', null), fc.nat());
const base64 = fc.oneof(
  fc.uint8Array({ maxLength: 1100 }).map((b) => Buffer.from(b).toString('base64')),
  fc.constantFrom('', 'AQ', 'AQ=', 'AQ==', 'AQ===', '====', '=', 'A', 'not base64!', 'AQID\n', 'A'.repeat(1400), 'A'.repeat(1401), '_-_-'),
);
const hex = (n: number) => fc.oneof(fc.stringMatching(new RegExp(`^[0-9A-Fa-f]{${n}}$`)), fc.constantFrom('', '0'.repeat(n - 1), 'Z'.repeat(n), `${'0'.repeat(n)}0`));
const ttsId = fc.oneof(fc.stringMatching(/^[a-z0-9](?:-?[a-z0-9]){2,17}$/), fc.constantFrom('ab', 'a--b', '-ab', 'ab-', 'AB-C', 'a'.repeat(36), 'a'.repeat(37), 'eui-70b3d57ed0051a2b'));
const degrees = fc.oneof(fc.constantFrom(-180.0000001, -180, -90.0000001, -90, 0, 90, 90.0000001, 180, 180.0000001, 1e308, -1e308, 5e-324), fc.double({ noNaN: true, noDefaultInfinity: true }));

/** Values at the edges of each field TTS sends (see the webhook schema for the rules). */
const TTS_FIELDS: Record<string, fc.Arbitrary<unknown>> = {
  received_at: dateTimeString,
  time: dateTimeString,
  f_port: port,
  f_cnt: counter,
  frm_payload: base64,
  session_key_id: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('x'.repeat(256), 'x'.repeat(257))),
  dev_eui: hex(16),
  join_eui: hex(16),
  dev_addr: hex(8),
  device_id: ttsId,
  application_id: fc.oneof(fc.constantFrom(...APPS), ttsId),
  correlation_ids: fc.array(fc.oneof(fc.constantFrom('lorawan-bridge:msg:00000000-0000-0000-0000-000000000000', 'as:downlink:1', 'x'.repeat(101)), nastyString), { maxLength: 4 }),
  latitude: degrees,
  longitude: degrees,
  altitude: degrees,
  accuracy: degrees,
  decoded_payload: fc.oneof(fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 }), weirdValue),
  rx_metadata: fc.oneof(fc.array(fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), { maxLength: 3 }), weirdValue),
  settings: fc.oneof(fc.dictionary(nastyString, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), weirdValue),
  locations: fc.oneof(fc.dictionary(nastyString, fc.record({ latitude: degrees, longitude: degrees }), { maxKeys: 3 }), weirdValue),
  message_format: fc.oneof(fc.constantFrom('{name} {constructor} {__proto__} {toString}', 'invalid `{field}`: {reason}', '{', '}{'), nastyString),
  attributes: fc.oneof(fc.dictionary(fc.constantFrom('length', 'max', 'max_retries', 'name', 'field', 'reason', 'constructor', '__proto__'), weirdValue, { maxKeys: 3 }), weirdValue),
  // the attributes the fixtures' message_format refers to
  length: weirdValue,
  max: weirdValue,
  max_retries: weirdValue,
  name: nastyString,
  service: nastyString,
  source: nastyString,
  priority: fc.oneof(fc.constantFrom('NORMAL', 'HIGHEST', ''), nastyString),
  confirmed: fc.oneof(fc.boolean(), weirdValue),
  simulated: fc.oneof(fc.boolean(), weirdValue),
};

describe('fuzz: TTS webhooks (fast-check)', () => {
  let plugin: PluginHarness;
  let watch: StoreWatch;
  const tokens = new Map<string, string>();
  let paths: string[] = KNOWN_PATHS;

  beforeAll(async () => {
    plugin = await new PluginHarness().start();
    const profiles: Record<string, unknown> = {
      'greenhouse-app': { formatter: { type: 'javascript', script: ECHO_UPLINK } },
      'none-app': { formatter: { type: 'none' }, uplink: { update_location: true, save_metadata: true } },
      'off-app': { enabled: false },
      'strict-app': { uplink: { auto_provision: false }, formatter: { type: 'none' } },
    };
    for (const [app, body] of Object.entries(profiles)) {
      const res = await plugin.request('PUT', `/api/profiles/${app}`, { body });
      expect(res.status, res.text).toBe(201);
      tokens.set(app, await plugin.webhookToken(app));
    }
    tokens.set('default', await plugin.webhookToken('default'));
    // The manifest names the webhook paths; fuzz those too, should it list more than the README.
    const manifest = await plugin.request('GET', '/manifest.json', { token: null });
    const listed = JSON.stringify(manifest.body).match(/"\/(?:uplink|tts\/webhook)[^"]*"/g) ?? [];
    paths = [...new Set([...KNOWN_PATHS, ...listed.map((p) => JSON.parse(p) as string)])];
    watch = new StoreWatch(join(plugin.dataDir, 'plugin.db'));
  }, FUZZ_TEST_TIMEOUT_MS);

  afterAll(async () => {
    watch?.close();
    await plugin?.destroy();
  }, FUZZ_TEST_TIMEOUT_MS);

  /** The token the plugin will check: the profile of the body's application id, as it reads it before validation. */
  function tokenFor(body: unknown): string {
    const appId = (body as { end_device_ids?: { application_ids?: { application_id?: unknown } } } | null)?.end_device_ids?.application_ids?.application_id;
    return (typeof appId === 'string' ? tokens.get(appId) : undefined) ?? tokens.get('default')!;
  }

  /** A webhook path as TTS might send it: any known path, in any case, with or without a trailing slash. */
  const pathArb = fc
    .record({ i: fc.nat(), upper: fc.boolean(), slash: fc.boolean(), query: fc.constantFrom('', '?x=1', '?', '?%ZZ') })
    .map(({ i, upper, slash, query }) => {
      const p = paths[i % paths.length];
      return `${upper ? p.toUpperCase() : p}${slash ? '/' : ''}${query}`;
    });

  /** X-Downlink-* headers: none, TTS-shaped ones (loopback; nothing is ever sent to them here), or broken ones. */
  const downlinkHeadersArb = fc.constantFrom('none', 'tts', 'bad-url', 'too-long', 'other-device');
  function downlinkHeaders(kind: string, body: unknown): Record<string, string> {
    const ids = (body as { end_device_ids?: { device_id?: unknown; application_ids?: { application_id?: unknown } } } | null)?.end_device_ids;
    // (values may be anything, even objects without a prototype, which String() throws on)
    const app = typeof ids?.application_ids?.application_id === 'string' ? ids.application_ids.application_id : 'x';
    const dev = typeof ids?.device_id === 'string' ? ids.device_id : 'x';
    const base = (d: string) => `http://127.0.0.1:9/api/v3/as/applications/${pct(app)}/webhooks/bridge/devices/${pct(d)}/down`;
    switch (kind) {
      case 'tts':
        return { 'X-Downlink-Apikey': 'NNSXS.FUZZ', 'X-Downlink-Push': `${base(dev)}/push`, 'X-Downlink-Replace': `${base(dev)}/replace` };
      case 'other-device':
        return { 'X-Downlink-Apikey': 'NNSXS.FUZZ', 'X-Downlink-Push': `${base('someone-else')}/push`, 'X-Downlink-Replace': `${base('someone-else')}/replace` };
      case 'bad-url':
        return { 'X-Downlink-Apikey': 'k', 'X-Downlink-Push': 'not a url', 'X-Downlink-Replace': '::' };
      case 'too-long':
        return { 'X-Downlink-Apikey': 'k'.repeat(3000), 'X-Downlink-Push': `${base(dev)}/push`, 'X-Downlink-Replace': `${base(dev)}/replace` };
      default:
        return {};
    }
  }

  function baseBody(name: string, app: string): Record<string, any> {
    const body = fixture<Record<string, any>>(`tts/${name}`);
    body.end_device_ids.application_ids.application_id = app;
    return body;
  }

  /**
   * Sends one request and checks the contract: an answer in time, no 5xx, and on a 4xx the error
   * shape and an unchanged store (401: at most one `auth` event).
   */
  async function sendAndCheck(r: FuzzRequest, opts: { rightToken?: boolean } = {}): Promise<FuzzResponse> {
    const before: StoreSnapshot = await watch.settledSnapshot();
    const res = await send(plugin.url, r);
    countAnswer(res);
    if (res.status < 300 && r.method !== 'GET') watch.mayBeBusy();
    const what = `${r.method} ${r.path} ${JSON.stringify(r.headers ?? {}).slice(0, 300)}\nbody: ${preview(r.body)}\nanswer ${res.status}: ${preview(res.text, 400)}`;
    expect(res.status >= 200 && res.status < 500, `status ${res.status} is neither 2xx nor 4xx\n${what}`).toBe(true);
    expect(res.status >= 300 && res.status < 400, `status ${res.status} (3xx)\n${what}`).toBe(false);
    if (opts.rightToken) expect(res.status, `refused with the right token\n${what}`).not.toBe(401);
    if (res.status >= 400) {
      expect(errorShapeProblem(res), `wrong error shape\n${what}`).toBeNull();
      const after = watch.snapshot();
      const changed = StoreWatch.changedTables(before, after);
      expect(changed, `a ${res.status} changed the store\n${what}\nnewest rows:\n${changed.map((t) => watch.newestRows(t)).join('\n')}`).toEqual([]);
      const events = watch.eventsAfter(before.eventsMaxId);
      if (res.status === 401) {
        expect(events.length, `a 401 wrote ${events.length} events\n${what}`).toBeLessThanOrEqual(1);
        expect(events.filter((e) => e.category !== 'auth'), `a 401 wrote events other than auth\n${what}`).toEqual([]);
      } else {
        expect(events, `a ${res.status} wrote events\n${what}`).toEqual([]);
      }
    }
    return res;
  }

  function request(path: string, text: string | Buffer, t: Transport, headers: Record<string, string>): FuzzRequest {
    const encoded = encodeBody(text, t);
    return { method: 'POST', path, headers: { ...headers, ...encoded.headers }, body: encoded.body, chunked: t.chunked };
  }

  const jsonTransportArb = fc.record({
    contentType: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...JSON_CONTENT_TYPES) }, { weight: 1, arbitrary: fc.constant(null) }),
    encoding: fc.constant('none' as const),
    chunked: fc.boolean(),
  });

  it('every webhook path, message type and mutation of a valid body: 2xx, or 4xx in the error shape storing nothing', async () => {
    await checkProperty(
      'webhook mutations',
      fuzzProperty(
        fc.record({
          fixture: fc.constantFrom(...FIXTURES),
          app: fc.constantFrom(...APPS),
          mutations: fc.array(fc.oneof(mutationArb(FIELD_NAMES), fieldMutationArb(TTS_FIELDS)), { minLength: 1, maxLength: 4 }),
          path: pathArb,
          transport: jsonTransportArb,
          downlink: downlinkHeadersArb,
        }),
        async (c) => {
          const body = applyMutations(baseBody(c.fixture, c.app), c.mutations);
          const text = toJsonText(body);
          await sendAndCheck(request(c.path, text, c.transport, { Authorization: `Bearer ${tokenFor(JSON.parse(text))}`, ...downlinkHeaders(c.downlink, body) }), {
            rightToken: true,
          });
        },
      ),
      runs(110),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  /** Bodies the schema takes, every field at its edges, for the message types `types`. */
  function validBodyArb(types: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
    const downlinkArb = fc.record(
      {
        f_port: fc.integer({ min: -5, max: 300 }),
        f_cnt: fc.nat(),
        frm_payload: base64,
        decoded_payload: fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        confirmed: fc.boolean(),
        priority: fc.constantFrom('NORMAL', 'HIGHEST', 'x'),
        correlation_ids: fc.array(fc.constantFrom('lorawan-bridge:msg:00000000-0000-0000-0000-000000000000', 'as:downlink:1'), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    );
    const location = fc.record({ latitude: fc.double({ min: -90, max: 90, noNaN: true }), longitude: fc.double({ min: -180, max: 180, noNaN: true }), altitude: fc.double({ noNaN: true, noDefaultInfinity: true }), source: fc.string({ maxLength: 8 }) }, { requiredKeys: ['latitude', 'longitude'] });
    const dict = fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 4 });
    const payloads: Record<string, fc.Arbitrary<unknown>> = {
      uplink_message: fc.record(
        {
          session_key_id: fc.string({ maxLength: 32 }),
          f_port: fc.integer({ min: 0, max: 255 }),
          f_cnt: fc.oneof(fc.constantFrom(0, 2 ** 32 - 1), fc.nat()),
          frm_payload: fc.uint8Array({ maxLength: 1000 }).map((b) => Buffer.from(b).toString('base64')),
          decoded_payload: dict,
          rx_metadata: fc.array(dict, { maxLength: 3 }),
          settings: dict,
          received_at: validDateTimeString,
          locations: fc.dictionary(fc.constantFrom('user', 'frm-payload', 'x', 'constructor'), location, { maxKeys: 2 }),
        },
        { requiredKeys: [] },
      ),
      uplink_normalized: dict,
      join_accept: dict,
      downlink_ack: downlinkArb,
      downlink_nack: downlinkArb,
      downlink_sent: downlinkArb,
      downlink_queued: downlinkArb,
      downlink_failed: fc.record(
        {
          downlink: downlinkArb,
          // TTS ErrorDetails: a message format with {placeholders} and the attributes to fill them (any JSON)
          error: fc.record(
            {
              namespace: fc.string(),
              name: fc.string({ maxLength: 10 }),
              message_format: fc.constantFrom('payload length `{length}` exceeds {max}', '{a}{b}{constructor}{toString}', '{__proto__}', 'plain', ''),
              attributes: fc.dictionary(fc.constantFrom('length', 'max', 'a', 'b', 'toString', 'constructor'), fc.oneof(fc.jsonValue({ maxDepth: 2 }), weirdValue, hostileObject), { maxKeys: 3 }),
              code: fc.integer(),
            },
            { requiredKeys: ['message_format', 'attributes'] },
          ),
        },
        { requiredKeys: ['error'] },
      ),
      downlink_queue_invalidated: dict,
      location_solved: fc.record({ service: fc.string({ maxLength: 10 }), location }, { requiredKeys: ['location'] }),
      service_data: dict,
    };
    const bodyArb = fc
      .record({
        app: fc.constantFrom(...APPS),
        device_id: fc.stringMatching(/^[a-z0-9](?:-?[a-z0-9]){2,17}$/),
        dev_eui: fc.option(fc.stringMatching(/^[0-9A-Fa-f]{16}$/), { nil: undefined }),
        dev_addr: fc.option(fc.stringMatching(/^[0-9A-Fa-f]{8}$/), { nil: undefined }),
        received_at: fc.option(validDateTimeString, { nil: undefined }),
        correlation_ids: fc.option(fc.array(fc.string({ maxLength: 100 }), { maxLength: 3 }), { nil: undefined }),
        simulated: fc.option(fc.boolean(), { nil: undefined }),
        // downlink_failed and location_solved read the most fields
        type: fc.oneof(
          { weight: 2, arbitrary: fc.constantFrom(...types) },
          ...['downlink_failed', 'location_solved'].filter((t) => types.includes(t)).map((t) => ({ weight: 1, arbitrary: fc.constant(t) })),
        ),
      })
      .chain((c) =>
        payloads[c.type].map((payload) => ({
          end_device_ids: {
            device_id: c.device_id,
            application_ids: { application_id: c.app },
            ...(c.dev_eui !== undefined ? { dev_eui: c.dev_eui } : {}),
            ...(c.dev_addr !== undefined ? { dev_addr: c.dev_addr } : {}),
          },
          ...(c.received_at !== undefined ? { received_at: c.received_at } : {}),
          ...(c.correlation_ids !== undefined ? { correlation_ids: c.correlation_ids } : {}),
          ...(c.simulated !== undefined ? { simulated: c.simulated } : {}),
          [c.type]: payload,
        })),
      );
    return bodyArb;
  }

  it('uplinks the schema takes, every field at its edges (leap seconds, year 0, f_cnt 2^32-1, ports 0/255, 1000-byte payloads, locations at ±90/±180): 2xx, or 4xx in the error shape storing nothing', async () => {
    await checkProperty(
      'webhook valid uplinks',
      fuzzProperty(fc.record({ body: validBodyArb(['uplink_message']), path: pathArb, transport: jsonTransportArb, downlink: downlinkHeadersArb }), async (c) => {
        const text = toJsonText(c.body);
        await sendAndCheck(request(c.path, text, c.transport, { Authorization: `Bearer ${tokenFor(c.body)}`, ...downlinkHeaders(c.downlink, c.body) }), { rightToken: true });
      }),
      runs(50),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('every other message type the schema takes (join, downlink queued/sent/ack/nack/failed, location, service data ...), every field at its edges: 2xx, or 4xx in the error shape storing nothing', async () => {
    const others = FIXTURES.map((f) => Object.keys(fixture(`tts/${f}`)).find((k) => !['end_device_ids', 'correlation_ids', 'received_at', 'simulated'].includes(k))!).filter((t) => t !== 'uplink_message');
    await checkProperty(
      'webhook valid other types',
      fuzzProperty(fc.record({ body: validBodyArb([...new Set(others)]), path: pathArb, transport: jsonTransportArb, downlink: downlinkHeadersArb }), async (c) => {
        const text = toJsonText(c.body);
        await sendAndCheck(request(c.path, text, c.transport, { Authorization: `Bearer ${tokenFor(c.body)}`, ...downlinkHeaders(c.downlink, c.body) }), { rightToken: true });
      }),
      runs(60),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('arbitrary JSON (any value, and any payload under every message type): 2xx, or 4xx in the error shape storing nothing', async () => {
    const messageTypes = FIXTURES.map((f) => Object.keys(fixture(`tts/${f}`)).find((k) => !['end_device_ids', 'correlation_ids', 'received_at', 'simulated'].includes(k))!);
    const bodyArb = fc.oneof(
      // any JSON value at all
      fc.jsonValue(),
      // valid ids, any payload for a message type (plus maybe more members)
      fc
        .record({
          fixture: fc.constantFrom(...FIXTURES),
          app: fc.constantFrom(...APPS),
          type: fc.constantFrom(...messageTypes),
          payload: fc.oneof(fc.jsonValue(), weirdValue, fc.dictionary(fc.constantFrom(...FIELD_NAMES), weirdValue, { maxKeys: 6 })),
          extra: fc.dictionary(fc.oneof(fc.constantFrom(...FIELD_NAMES, ...messageTypes), nastyString), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
        })
        .map((c) => ({ end_device_ids: baseBody(c.fixture, c.app).end_device_ids, ...c.extra, [c.type]: c.payload })),
      // objects made of the fields TTS uses, with any values
      fc.dictionary(fc.constantFrom(...FIELD_NAMES, ...messageTypes), fc.oneof(fc.jsonValue({ maxDepth: 3 }), weirdValue), { maxKeys: 8 }),
    );
    await checkProperty(
      'webhook arbitrary json',
      fuzzProperty(fc.record({ body: bodyArb, path: pathArb, transport: jsonTransportArb }), async (c) => {
        const text = toJsonText(c.body);
        await sendAndCheck(request(c.path, text, c.transport, { Authorization: `Bearer ${tokenFor(JSON.parse(text))}` }), { rightToken: true });
      }),
      runs(90),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('bytes that are not JSON, JSON at the edges, wrong content types and encodings, other methods: 2xx or 4xx in the error shape, storing nothing', async () => {
    await checkProperty(
      'webhook raw bodies',
      fuzzProperty(
        fc.record({
          payload: fc.oneof(
            { weight: 4, arbitrary: rawBodyArb },
            // a valid body, sent in a way the plugin may or may not take
            { weight: 1, arbitrary: fc.constantFrom(...FIXTURES).map((f) => JSON.stringify(baseBody(f, 'greenhouse-app'))) },
          ),
          path: pathArb,
          transport: transportArb,
          token: fc.constantFrom('greenhouse-app', 'default'),
          method: fc.oneof({ weight: 8, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS') }),
        }),
        async (c) => {
          const r = request(c.path, c.payload, c.transport, { Authorization: `Bearer ${tokens.get(c.token)}` });
          // A GET/OPTIONS with a body is unusual but legal HTTP; the plugin must still answer in shape.
          await sendAndCheck({ ...r, method: c.method });
        },
      ),
      runs(110),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('a missing or wrong token is a 401 in the error shape, storing nothing but the aggregated auth event; the right one in any accepted spelling is not', async () => {
    const authArb = fc.oneof(
      fc.constantFrom(
        { kind: 'none' },
        { kind: 'empty' },
        { kind: 'bearer-only' },
        { kind: 'admin' },
        { kind: 'other-app' },
        { kind: 'basic' },
        { kind: 'truncated' },
        { kind: 'extended' },
        { kind: 'uppercased' },
        { kind: 'two-words' },
        { kind: 'lowercase-scheme' },
        { kind: 'extra-spaces' },
      ),
      fc.record({ kind: fc.constant('random'), token: fc.stringMatching(/^[\x21-\x7e]{1,80}$/) }),
    );
    const ACCEPTED = new Set(['lowercase-scheme', 'extra-spaces']);
    await checkProperty(
      'webhook tokens',
      fuzzProperty(
        fc.record({ fixture: fc.constantFrom(...FIXTURES), app: fc.constantFrom(...APPS), auth: authArb, path: pathArb, transport: jsonTransportArb }),
        async (c) => {
          const body = baseBody(c.fixture, c.app);
          const right = tokenFor(body);
          const other = tokens.get(c.app === 'greenhouse-app' ? 'none-app' : 'greenhouse-app')!;
          const headers: Record<string, string> = {};
          switch (c.auth.kind) {
            case 'none':
              break;
            case 'empty':
              headers.Authorization = '';
              break;
            case 'bearer-only':
              headers.Authorization = 'Bearer';
              break;
            case 'admin':
              headers.Authorization = `Bearer ${ADMIN_TOKEN}`;
              break;
            case 'other-app':
              headers.Authorization = `Bearer ${other}`;
              break;
            case 'basic':
              headers.Authorization = `Basic ${Buffer.from(`x:${right}`).toString('base64')}`;
              break;
            case 'truncated':
              headers.Authorization = `Bearer ${right.slice(0, -1)}`;
              break;
            case 'extended':
              headers.Authorization = `Bearer ${right}x`;
              break;
            case 'uppercased':
              headers.Authorization = `Bearer ${right.toUpperCase() === right ? right.toLowerCase() : right.toUpperCase()}`;
              break;
            case 'two-words':
              headers.Authorization = `Bearer ${right} ${right}`;
              break;
            case 'lowercase-scheme':
              headers.Authorization = `bearer ${right}`;
              break;
            case 'extra-spaces':
              headers.Authorization = `Bearer   ${right}  `;
              break;
            case 'random':
              headers.Authorization = `Bearer ${(c.auth as { token: string }).token}`;
              break;
          }
          const random = c.auth.kind === 'random' && (c.auth as { token: string }).token === right;
          const res = await sendAndCheck(request(c.path, JSON.stringify(body), c.transport, headers));
          if (ACCEPTED.has(c.auth.kind) || random) expect(res.status, `refused a right token (${c.auth.kind})`).not.toBe(401);
          else expect(res.status, `took a wrong token (${c.auth.kind}): ${res.text.slice(0, 300)}`).toBe(401);
        },
      ),
      runs(60),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('after all that fuzzing, everything the 2xx answers stored reads back through the API', async () => {
    const get = async (path: string) => {
      const res = await send(plugin.url, { method: 'GET', path, headers: { Authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status, `GET ${path}: ${res.text.slice(0, 300)}`).toBe(200);
      return res;
    };
    const devices = (await get('/api/devices?limit=1000')).json as { items: { id: string }[] };
    const buckets = (await get('/api/buckets')).json as { items: { id: string }[] };
    await get('/api/dead-letters?limit=1000');
    await get('/api/events?limit=1000');
    await get('/api/profiles');
    for (const d of devices.items) {
      await get(`/api/devices/${pct(d.id)}`);
      await get(`/api/devices/${pct(d.id)}/messages`);
    }
    for (const b of buckets.items) {
      await get(`/api/buckets/${pct(b.id)}/data?limit=100000`);
      await get(`/api/buckets/${pct(b.id)}/data?format=csv&order=asc`);
    }
  }, FUZZ_TEST_TIMEOUT_MS);
});
