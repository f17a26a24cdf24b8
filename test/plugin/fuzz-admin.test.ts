/**
 * Property-based fuzzing of every admin body and query: profiles (with formatter code), downlinks
 * (Thinger `/downlink/{device}`, `/api/devices/{id}/messages`, the IoTDA path), the formatter test
 * tool, dead-letter replay, device properties, the list endpoints' query strings and admin auth.
 * Any input gets a 2xx or a 4xx in the error shape (IoTDA's on `/v5/iot/`), never a 5xx and never
 * no answer, and a 4xx changes nothing a user can read back.
 *
 * "Nothing stored on a 4xx": no durable table changes (every table but `events`, read from the
 * SQLite file) and no event. Two 4xx answers report the outcome of work that was done, and keep
 * its record by design (both are asserted by the existing suites): `POST /downlink/{device}`
 * answers 422 for a message that failed at once (formatter error, f_port out of range) and keeps
 * it as FAILED (test/plugin/downlink-endpoint.test.ts), and a dead-letter replay that fails again
 * answers 422 `replay_failed` and keeps a new dead letter (test/plugin/dead-letters.test.ts). For
 * those two the property checks exactly that record (readable through the API) and nothing else.
 * GETs, and the formatter test tool on any answer ("nothing stored", README), change nothing.
 *
 * Replay a failure with the seed it prints: FUZZ_SEED=<seed> npx vitest run test/plugin/fuzz-admin.test.ts
 */
import { join } from 'node:path';
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
  Huge,
  JSON_CONTENT_TYPES,
  mutationArb,
  nastyString,
  pct,
  PLAIN,
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
  type Transport,
} from '../helpers/fuzz.js';
import { ADMIN_TOKEN, PluginHarness } from '../helpers/plugin-harness.js';
import { ECHO_UPLINK, THROWING_UPLINK, uplinkBody } from '../helpers/tts-bodies.js';
import { TtsPeer } from '../helpers/tts-peer.js';
import { THINGER_DOWNLINK } from '../helpers/downlink-setup.js';

/** Uplinks echo their bytes; downlinks are JSON text as bytes, or an error when asked to fail. */
const FUZZ_FORMATTER = `module.exports.uplink = function (payload, message) {
  return { bytes: Array.from(Buffer.from(payload, 'base64')), port: message.uplink_message.f_port };
};
module.exports.downlink = function (payload) {
  if (payload && payload.fail) throw new Error('asked to fail');
  var text = JSON.stringify(payload === undefined ? null : payload) || 'null';
  return Buffer.from(text.slice(0, 40)).toString('base64');
};`;

/** Applications with devices: profiles the fuzzing never rewrites (a PUT there could point downlinks anywhere). */
const FIXTURE_APPS = ['fuzz-app', 'plain-app', 'dl-app', 'dl-strict'];
/** fuzz-app: with TTS credentials; fuzz-app: without; plain-app: no usable f_port; dl-app: only dead letters. */
const DEVICES = ['70B3D57ED0051A2B', '70B3D57ED0051A2C', '70B3D57ED0051A2D', '70B3D57ED0051A2E'];
const PRIORITIES = ['LOWEST', 'LOW', 'BELOW_NORMAL', 'NORMAL', 'ABOVE_NORMAL', 'HIGH', 'HIGHEST'];

const SCRIPTS = [
  '',
  ECHO_UPLINK,
  THROWING_UPLINK,
  THINGER_DOWNLINK,
  FUZZ_FORMATTER,
  'function decodeUplink(input) { return { data: { b: input.bytes, p: input.fPort, t: input.recvTime && input.recvTime.toISOString() } }; }',
  'function encodeDownlink(input) { return { bytes: [1, 2, 3], fPort: input.data && input.data.port }; }',
  'function encodeDownlink(input) { return { bytes: [1], fPort: 224 }; }',
  'function decodeUplink(input) { return { data: new Date(input.recvTime).toISOString() }; }',
  'module.exports.uplink = function (p, m) { return { t: new Date(m.received_at).toISOString() }; };',
  'module.exports.uplink = function () { return undefined; };',
  'module.exports.downlink = function () { return null; };',
  'module.exports.downlink = function () { return { nope: 1 }; };',
  'syntax error {',
  'throw new Error("top level")',
  'module.exports = 5;',
  'var s = "\\u0000\\ud800";',
  'function decodeUplink(input) { return { data: { big: "x".repeat(1 << 20) } }; }',
  'function decodeUplink(input) { var a = []; for (var i = 0; i < 1000; i++) a = [a]; return { data: a }; }',
  'function decodeUplink(input) { return { data: { n: NaN, i: Infinity, u: undefined, f: function () {} } }; }',
];
const CODE_TOKENS = ['module.exports.uplink', 'module.exports.downlink', '=', 'function', '(', ')', '{', '}', 'return', 'throw', 'new Error("x")', ';', 'payload', 'input', 'Buffer', '.from', '"AQ=="', '[1]', ',', 'decodeUplink', 'encodeDownlink', 'null', 'this', '=>', 'async', 'await'];
const scriptArb: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...SCRIPTS) },
  { weight: 2, arbitrary: fc.array(fc.constantFrom(...CODE_TOKENS), { maxLength: 25 }).map((t) => t.join(' ')) },
  { weight: 1, arbitrary: fc.string({ maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom(262_144, 262_145).map((n) => new Huge(n, ' ')) },
);

describe('fuzz: admin bodies and queries (fast-check)', () => {
  let plugin: PluginHarness;
  let tts: TtsPeer;
  let watch: StoreWatch;
  let webhookToken = '';
  let deadLetterIds: number[] = [];

  beforeAll(async () => {
    plugin = await new PluginHarness().start();
    tts = await new TtsPeer().start();
    const put = async (app: string, body: unknown) => {
      const res = await plugin.request('PUT', `/api/profiles/${app}`, { body });
      expect(res.status, res.text).toBe(201);
    };
    await put('fuzz-app', { formatter: { type: 'javascript', script: FUZZ_FORMATTER } });
    await put('plain-app', { formatter: { type: 'none' } });
    await put('dl-app', { formatter: { type: 'javascript', script: THROWING_UPLINK } });
    await put('dl-strict', { uplink: { auto_provision: false }, formatter: { type: 'none' } });
    const uplink = async (appId: string, devEui: string, change: (b: Record<string, any>) => void = () => {}, headers?: Record<string, string>) => {
      const body = uplinkBody({ appId, devEui, deviceId: `eui-${devEui.toLowerCase()}` });
      change(body);
      const res = await plugin.webhook(body, headers ? { headers } : {});
      expect(res.status, res.text).toBe(200);
      return res.body as { dead_letter_id?: number };
    };
    await uplink('fuzz-app', DEVICES[0], () => {}, tts.downlinkHeaders('fuzz-app', `eui-${DEVICES[0].toLowerCase()}`));
    await uplink('fuzz-app', DEVICES[1]);
    await uplink('plain-app', DEVICES[2], (b) => delete b.uplink_message.f_port);
    for (const fCnt of [1, 2]) deadLetterIds.push((await uplink('dl-app', DEVICES[3], (b) => (b.uplink_message.f_cnt = fCnt))).dead_letter_id!);
    deadLetterIds.push((await uplink('dl-strict', '70B3D57ED0051A2F')).dead_letter_id!);
    deadLetterIds = deadLetterIds.filter((id) => typeof id === 'number');
    expect(deadLetterIds).toHaveLength(3);
    webhookToken = await plugin.webhookToken('fuzz-app');
    watch = new StoreWatch(join(plugin.dataDir, 'plugin.db'));
  }, FUZZ_TEST_TIMEOUT_MS);

  afterAll(async () => {
    watch?.close();
    await plugin?.destroy();
    await tts?.stop();
  }, FUZZ_TEST_TIMEOUT_MS);

  // ------------------------------------------------------------ checking one request

  type Exception = 'downlink_outcome' | 'replay_outcome' | null;

  /** A 4xx that reports work done and keeps its record by design (see the header comment). */
  function exceptionOf(r: FuzzRequest, res: FuzzResponse): Exception {
    const path = r.path.split('?')[0];
    const error = (res.json as { error?: { code?: string; details?: Record<string, unknown> } } | undefined)?.error;
    if (res.status === 422 && r.method === 'POST' && /^\/downlink\/[^/]+$/i.test(path) && typeof error?.details?.message_id === 'string' && error.details.status === 'FAILED') {
      return 'downlink_outcome';
    }
    if (res.status === 422 && error?.code === 'replay_failed' && typeof error.details?.dead_letter_id === 'number') return 'replay_outcome';
    return null;
  }

  /**
   * Sends one request and checks the contract: an answer in time, no 5xx, and on a 4xx the error
   * shape (IoTDA's under /v5/iot/) and an unchanged store. `readOnly`: nothing may change whatever
   * the answer.
   */
  async function sendAndCheck(r: FuzzRequest, opts: { readOnly?: boolean; tablesUntouched?: boolean } = {}): Promise<FuzzResponse> {
    const before = await watch.settledSnapshot();
    const res = await send(plugin.url, r);
    countAnswer(res);
    if (res.status < 300 && r.method !== 'GET') watch.mayBeBusy();
    const what = `${r.method} ${r.path.slice(0, 300)} ${JSON.stringify(r.headers ?? {}).slice(0, 300)}\nbody: ${preview(r.body)}\nanswer ${res.status}: ${preview(res.text, 500)}`;
    expect(res.status >= 200 && res.status < 500, `status ${res.status} is neither 2xx nor 4xx\n${what}`).toBe(true);
    expect(res.status >= 300 && res.status < 400, `status ${res.status} (3xx)\n${what}`).toBe(false);
    const after = watch.snapshot();
    const changed = StoreWatch.changedTables(before, after);
    const events = watch.eventsAfter(before.eventsMaxId);
    if (changed.length > 0 || events.length > 0) watch.mayBeBusy();
    if (opts.readOnly) {
      expect(changed, `a read changed the store\n${what}`).toEqual([]);
      expect(events, `a read wrote events\n${what}`).toEqual([]);
    }
    if (opts.tablesUntouched) expect(changed, `the test tool stored something\n${what}`).toEqual([]);
    if (res.status < 400) return res;

    const iotda = r.path.startsWith('/v5/iot/');
    expect(errorShapeProblem(res, iotda ? 'iotda' : 'plugin'), `wrong error shape\n${what}`).toBeNull();
    const exception = exceptionOf(r, res);
    const error = (res.json as { error: { details: Record<string, unknown> } }).error;
    if (exception === 'downlink_outcome') {
      // The failed message is kept, and readable; nothing else changed.
      expect(changed.map((t) => t.split(' ')[0]), `a 422 downlink changed more than its message\n${what}`).toEqual(['messages']);
      const device = decodeURIComponent(r.path.split('?')[0].split('/')[2]);
      const m = await plugin.request('GET', `/api/devices/${pct(device)}/messages/${pct(String(error.details.message_id))}`);
      expect({ status: m.status, s: m.body?.status }, `the failed message is not readable\n${what}`).toEqual({ status: 200, s: 'FAILED' });
      return res;
    }
    if (exception === 'replay_outcome') {
      // The new dead letter is kept (and readable), the replayed one marked; the device seen again.
      const allowed = new Set(['dead_letters', 'devices', 'device_properties']);
      expect(changed.filter((t) => !allowed.has(t.split(' ')[0])), `a failed replay changed more than documented\n${what}`).toEqual([]);
      const letters = await plugin.request('GET', '/api/dead-letters?limit=1000');
      expect(letters.body.items.map((l: { id: number }) => l.id), `the new dead letter is not listed\n${what}`).toContain(error.details.dead_letter_id);
      return res;
    }
    expect(changed, `a ${res.status} changed the store\n${what}\nnewest rows:\n${changed.map((t) => watch.newestRows(t)).join('\n')}`).toEqual([]);
    expect(events, `a ${res.status} wrote events\n${what}`).toEqual([]);
    return res;
  }

  /** A body, as JSON (any transport), as raw bytes, or none at all. */
  type BodyCase = { kind: 'json'; value: unknown; transport: Transport } | { kind: 'raw'; bytes: string | Buffer; transport: Transport } | { kind: 'empty' };
  /** JSON as the plugin takes it: with or without a charset, or no Content-Type; with a length or chunked. */
  const jsonTransportArb: fc.Arbitrary<Transport> = fc.oneof(
    { weight: 4, arbitrary: fc.constant(PLAIN) },
    { weight: 1, arbitrary: fc.record({ contentType: fc.constantFrom(...JSON_CONTENT_TYPES, null), encoding: fc.constant('none' as const), chunked: fc.boolean() }) },
  );
  /**
   * Bodies for one endpoint's property: JSON values (sent as JSON) or none. Bytes that are not
   * JSON, other content types and encodings are one property of their own for every endpoint
   * ('admin raw bodies'), so a parser bug fails that one and each endpoint's property keeps
   * fuzzing its own fields.
   */
  function bodyCaseArb(json: fc.Arbitrary<unknown>): fc.Arbitrary<BodyCase> {
    return fc.oneof(
      { weight: 10, arbitrary: fc.record({ kind: fc.constant('json' as const), value: json, transport: jsonTransportArb }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const }) },
    );
  }
  function withBody(method: string, path: string, b: BodyCase, headers: Record<string, string> = { Authorization: `Bearer ${ADMIN_TOKEN}` }): FuzzRequest {
    if (b.kind === 'empty') return { method, path, headers };
    const encoded = encodeBody(b.kind === 'json' ? toJsonText(b.value) : b.bytes, b.transport);
    return { method, path, headers: { ...headers, ...encoded.headers }, body: encoded.body, chunked: b.transport.chunked };
  }

  /** A path segment: mostly one of `known`, else anything (percent-encoded). */
  function segmentArb(known: readonly string[]): fc.Arbitrary<string> {
    return fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...known) },
      { weight: 2, arbitrary: nastyString.filter((s) => s.length > 0) },
      { weight: 1, arbitrary: fc.constantFrom('.', '..', '%2F', 'a/b', ' ', 'x'.repeat(300)) },
    ).map((s) => (/^[A-Za-z0-9._~-]+$/.test(s) ? s : pct(s)));
  }

  const FIELDS = [
    'enabled', 'network', 'thingpark', 'uplink', 'downlink', 'formatter', 'auto_provision', 'auto_provision_bucket', 'device_id_source', 'device_id_prefix',
    'bucket_id_prefix', 'connection_timeout_min', 'asset_type', 'asset_group', 'update_location', 'save_metadata', 'initial_downlink', 'confirmed', 'push',
    'priority', 'f_port', 'status_notification_url', 'tts_hosts', 'type', 'script', 'timeout_ms', 'message_id', 'name', 'message', 'encoding', 'ttl',
    'replace', 'payload_format', 'topic', 'topic_full_name', 'properties', 'correlation_data', 'response_topic', 'user_properties', 'prop_key', 'prop_value',
    'payload', 'app_id', 'direction', 'input', 'frm_payload', 'bytes', 'decoded_payload', 'received_at', 'uplink_message', 'as_id', 'as_key', 'downlink_url',
  ];
  const fieldValue = fc.oneof(
    { weight: 3, arbitrary: weirdValue },
    { weight: 1, arbitrary: fc.constantFrom(...PRIORITIES, 'none', 'base64', 'javascript', 'cayennelpp', 'uplink', 'downlink', 'dev_eui', 'device_id', 'standard', 'raw', 'tts', 'thingpark') },
    { weight: 1, arbitrary: scriptArb },
    // URLs stay on this machine: a PUT that succeeds may keep one (and nothing here has devices to send to it).
    { weight: 1, arbitrary: fc.constantFrom('http://127.0.0.1:9/notify', 'https://127.0.0.1:9/x', 'ftp://127.0.0.1/', 'http://', 'javascript:alert(1)', 'http://[::1', '127.0.0.1, localhost') },
  );

  const anyPort = fc.oneof(fc.constantFrom(0, 1, 223, 224, 255, 256, -1, 1.5, '1', null), fc.integer({ min: 0, max: 255 }));
  /** Values at the edges of each admin field (see plugin/schemas/). */
  const ADMIN_FIELDS: Record<string, fc.Arbitrary<unknown>> = {
    received_at: dateTimeString,
    f_port: anyPort,
    ttl: fc.constantFrom(0, 5, 1440, 1445, 3, -5, 1e9, '60', null),
    timeout_ms: fc.constantFrom(0, 1, 5000, 5001, 1.5, -1, 2 ** 53, '100'),
    connection_timeout_min: fc.constantFrom(0, 1, 43200, 43201, 1.5),
    message_id: fc.oneof(fc.constantFrom('m1', 'm2', 'a'.repeat(100), 'a'.repeat(101), '', 'a b'), nastyString),
    encoding: fc.constantFrom('none', 'base64', 'BASE64', '', null),
    message: payloadArbLazy(),
    script: scriptArb,
    type: fc.constantFrom('javascript', 'none', 'cayennelpp', 'lua', ''),
    frm_payload: fc.constantFrom('', 'AQ==', 'AQ', '====', 'not base64', 'A'.repeat(1401)),
    bytes: fc.oneof(fc.array(fc.integer({ min: -1, max: 256 }), { maxLength: 5 }), fc.constant(Array(1025).fill(0)), weirdValue),
    status_notification_url: fc.constantFrom('http://127.0.0.1:9/n', 'https://127.0.0.1:9/n', 'ftp://127.0.0.1/', 'http://', '', 'x'.repeat(2049), null),
    tts_hosts: fc.constantFrom('', 'eu1.cloud.thethings.network', '127.0.0.1, [::1]', 'a'.repeat(2049), 'bad host!', ',,,'),
    device_id_prefix: fc.constantFrom('', 'p-', 'a'.repeat(32), 'a'.repeat(33), 'bad prefix', 'ä'),
    priority: fc.constantFrom(...PRIORITIES, 'lowest', '', null),
    direction: fc.constantFrom('uplink', 'downlink', 'UPLINK', ''),
    app_id: fc.constantFrom(...FIXTURE_APPS, 'default', '', 'x'.repeat(37), 'nobody-here'),
  };
  function payloadArbLazy(): fc.Arbitrary<unknown> {
    return fc.oneof(fc.jsonValue({ maxDepth: 3 }), weirdValue, fc.constantFrom('AQID', 'AQ==', 'not base64!', '', { fail: true }, { on: true }));
  }
  const mutations = (max: number) => fc.array(fc.oneof(mutationArb(FIELDS, fieldValue), fieldMutationArb(ADMIN_FIELDS)), { maxLength: max });
  /**
   * Two thirds of the values as generated (valid, at the edges of each field), a third mutated: a property
   * whose inputs all fail validation never reaches the code behind it (FUZZ_STATS=1 shows the mix).
   */
  function maybeMutated<T>(valid: fc.Arbitrary<T>, max = 3): fc.Arbitrary<T> {
    return fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: fc.tuple(valid, fc.array(fc.oneof(mutationArb(FIELDS, fieldValue), fieldMutationArb(ADMIN_FIELDS)), { minLength: 1, maxLength: max })).map(([v, ms]) => applyMutations(v, ms)) });
  }
  /** Mostly `valid`, sometimes `edge`. */
  const mostly = <T, U>(valid: fc.Arbitrary<T>, edge: fc.Arbitrary<U>) => fc.oneof({ weight: 6, arbitrary: valid as fc.Arbitrary<T | U> }, { weight: 1, arbitrary: edge as fc.Arbitrary<T | U> });

  // ------------------------------------------------------------ profiles

  it('PUT /api/profiles/{app_id}: any settings and formatter code get 2xx or a 4xx in the error shape, storing nothing', async () => {
    const validProfile = fc.record({
      enabled: fc.boolean(),
      uplink: fc.record(
        {
          auto_provision: fc.boolean(),
          device_id_source: fc.constantFrom('dev_eui', 'device_id'),
          device_id_prefix: fc.stringMatching(/^[A-Za-z0-9_-]{0,8}$/),
          connection_timeout_min: fc.integer({ min: 1, max: 43200 }),
          asset_type: fc.option(fc.string({ minLength: 1, maxLength: 10 })),
          initial_downlink: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }),
        },
        { requiredKeys: [] },
      ),
      downlink: fc.record({ confirmed: fc.boolean(), priority: fc.constantFrom(...PRIORITIES), f_port: fc.option(fc.integer({ min: 1, max: 223 })), tts_hosts: fc.constantFrom('', 'eu1.cloud.thethings.network') }, { requiredKeys: [] }),
      formatter: fc.record({ type: fc.constantFrom('javascript', 'none', 'cayennelpp'), script: scriptArb, timeout_ms: mostly(fc.constantFrom(1, 50, 100, 5000), fc.constantFrom(0, 5001, -1, 1.5)) }, { requiredKeys: [] }),
    }, { requiredKeys: [] });
    const appArb = fc
      .oneof(
        { weight: 3, arbitrary: fc.constant('default') },
        { weight: 8, arbitrary: fc.stringMatching(/^[a-z0-9](?:-?[a-z0-9]){2,12}$/) },
        { weight: 1, arbitrary: fc.constantFrom('DEFAULT', 'ab', 'a--b', '-abc', 'abc-', 'x'.repeat(37), 'Default') },
        { weight: 1, arbitrary: nastyString.filter((s) => s.length > 0) },
      )
      .filter((a) => !FIXTURE_APPS.includes(a));
    await checkProperty(
      'admin profiles',
      fuzzProperty(
        fc.record({
          app: appArb,
          body: bodyCaseArb(
            fc.oneof(
              { weight: 4, arbitrary: maybeMutated(validProfile) },
              { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
            ),
          ),
        }),
        async (c) => {
          const app = /^[A-Za-z0-9._~-]+$/.test(c.app) ? c.app : pct(c.app);
          await sendAndCheck(withBody('PUT', `/api/profiles/${app}`, c.body));
        },
      ),
      runs(70),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  // ------------------------------------------------------------ downlinks

  /** Numbers as query text, at the edges of every limit and of what SQLite and JS integers hold. */
  const numText = fc.oneof(
    fc.constantFrom('0', '1', '-1', '-0', '1.5', '1e3', '1e300', '1e400', '99999999999999999999', '9223372036854775807', '9223372036854775808', '9007199254740993', '0x10', ' 5', '5 ', '', 'NaN', 'Infinity', '1000', '1001', '100000', '100001', '223', '224'),
    fc.nat().map(String),
    fc.bigInt({ min: 0n, max: 2n ** 70n }).map(String),
  );
  const otherValue = fc.oneof(
    fc.constantFrom('true', 'false', '1', '0', 'yes', '', ' ', 'null', ...PRIORITIES, 'lowest', 'asc', 'desc', 'csv', 'json', 'CSV'),
    nastyString,
    dateTimeString,
  );
  /** A query string: known keys with values made for them (numbers, times, enums), unknown keys, repeats, bare keys, raw `%`, `&`, `=`. */
  function queryArb(spec: Record<string, fc.Arbitrary<string>>): fc.Arbitrary<string> {
    const keys = Object.keys(spec);
    const pair = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...keys).chain((k) => fc.tuple(fc.constant(k), fc.oneof({ weight: 3, arbitrary: spec[k] }, { weight: 1, arbitrary: otherValue }))) },
      { weight: 1, arbitrary: fc.tuple(nastyString, otherValue) },
    );
    const encoding = fc.constantFrom('encoded', 'encoded', 'raw', 'bare');
    // Each known key at most once (so one odd value is not hidden behind another key's 400), or noise.
    const tidy = fc
      .record(Object.fromEntries(keys.map((k) => [k, fc.tuple(spec[k], encoding)])), { requiredKeys: [] })
      .map((r) => Object.entries(r).map(([k, vh]) => [[k, vh![0]], vh![1]] as [[string, string], string]));
    const noisy = fc.array(fc.tuple(pair, encoding), { maxLength: 5 });
    return fc.oneof({ weight: 3, arbitrary: tidy }, { weight: 1, arbitrary: noisy }).map((pairs) =>
      pairs.length === 0
        ? ''
        : '?' +
          pairs
            .map(([[k, v], how]) =>
              how === 'bare' ? pct(k) : how === 'raw' ? `${pct(k)}=${v.replace(/[^\x21-\x7e]/g, (ch) => pct(ch)).replace(/#/g, '%23')}` : `${pct(k)}=${pct(v)}`,
            )
            .join('&'),
    );
  }
  const bool = fc.constantFrom('true', 'false', '1', '0', 'TRUE', 'yes', '');
  const text = fc.oneof(fc.constantFrom(...DEVICES, ...FIXTURE_APPS, 'x'.repeat(37), 'x'.repeat(201), '%', '_', '\\'), nastyString);
  const time = fc.oneof(dateTimeString, numText);
  const enumOf = (...v: string[]) => fc.oneof(fc.constantFrom(...v, ...v.map((x) => x.toUpperCase()), ''), nastyString);

  const payloadArb = payloadArbLazy();

  it('POST /downlink/{device}: any payload, envelope and query get 2xx or a 4xx in the error shape, storing nothing', async () => {
    const envelope = fc
      .record(
        {
          payload: payloadArb,
          confirmed: mostly(fc.boolean(), weirdValue),
          priority: mostly(fc.constantFrom(...PRIORITIES), weirdValue),
          f_port: mostly(fc.integer({ min: 1, max: 223 }), fc.oneof(fc.constantFrom(0, 224, 255, 300), weirdValue)),
          replace: mostly(fc.boolean(), weirdValue),
        },
        { requiredKeys: ['payload'] },
      )
      .chain((e) => fc.option(fc.dictionary(fc.constantFrom('extra', 'payload_format', 'ttl', 'encoding'), weirdValue, { minKeys: 1, maxKeys: 1 }), { freq: 4 }).map((x) => ({ ...e, ...(x ?? {}) })));
    const port = mostly(fc.integer({ min: 1, max: 223 }).map(String), numText);
    await checkProperty(
      'admin thinger downlink',
      fuzzProperty(
        fc.record({
          device: segmentArb(DEVICES),
          clear: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
          query: fc.oneof(fc.constant(''), queryArb({ confirmed: mostly(fc.constantFrom('true', 'false'), bool), priority: mostly(fc.constantFrom(...PRIORITIES), enumOf(...PRIORITIES.map((p) => p.toLowerCase()))), f_port: port, replace: mostly(fc.constantFrom('true', 'false'), bool) })),
          body: bodyCaseArb(fc.oneof(payloadArb, envelope)),
        }),
        async (c) => {
          await sendAndCheck(withBody('POST', `/downlink/${c.device}${c.clear ? '/clear' : ''}${c.query}`, c.body));
        },
      ),
      runs(70),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  const messageRequestArb = maybeMutated(
      fc.record(
        {
          message_id: mostly(fc.oneof(fc.constantFrom('m1', 'm2', 'm3'), fc.uuid()), nastyString),
          name: fc.string({ maxLength: 10 }),
          message: payloadArb,
          encoding: fc.constantFrom('none', 'base64'),
          ttl: mostly(fc.constantFrom(0, 5, 60, 1440), fc.constantFrom(1445, 7, -5)),
          confirmed: fc.boolean(),
          priority: fc.constantFrom(...PRIORITIES),
          f_port: mostly(fc.integer({ min: 1, max: 223 }), fc.constantFrom(0, 224)),
          replace: fc.boolean(),
          payload_format: fc.constantFrom('standard', 'raw'),
          topic: fc.string({ maxLength: 10 }),
          properties: fc.record(
            {
              correlation_data: fc.stringMatching(/^[A-Za-z0-9_-]{0,10}$/),
              response_topic: fc.string({ maxLength: 10 }),
              user_properties: fc.array(fc.record({ prop_key: fc.string({ maxLength: 5 }), prop_value: fc.string({ maxLength: 5 }) }), { maxLength: 3 }),
            },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: ['message'] },
      ),
    );

  it('POST /api/devices/{id}/messages: any message request gets 2xx or a 4xx in the error shape, storing nothing', async () => {
    await checkProperty(
      'admin device messages',
      fuzzProperty(
        fc.record({ device: segmentArb(DEVICES), body: bodyCaseArb(fc.oneof({ weight: 4, arbitrary: messageRequestArb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) })) }),
        async (c) => {
          await sendAndCheck(withBody('POST', `/api/devices/${c.device}/messages`, c.body));
        },
      ),
      runs(60),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('POST /v5/iot/{project}/devices/{id}/messages (IoTDA): any body and X-Auth-Token get 2xx or a 4xx in IoTDA\'s error shape, storing nothing', async () => {
    await checkProperty(
      'admin iotda messages',
      fuzzProperty(
        fc.record({
          project: segmentArb(['proj-1', 'p']),
          device: segmentArb(DEVICES),
          auth: fc.oneof({ weight: 6, arbitrary: fc.constant('right') }, { weight: 1, arbitrary: fc.constantFrom('none', 'wrong', 'bearer', 'webhook') }),
          body: bodyCaseArb(fc.oneof({ weight: 4, arbitrary: messageRequestArb }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) })),
        }),
        async (c) => {
          const headers: Record<string, string> =
            c.auth === 'right'
              ? { 'X-Auth-Token': ADMIN_TOKEN }
              : c.auth === 'wrong'
                ? { 'X-Auth-Token': `${ADMIN_TOKEN}x` }
                : c.auth === 'bearer'
                  ? { Authorization: `Bearer ${ADMIN_TOKEN}` }
                  : c.auth === 'webhook'
                    ? { 'X-Auth-Token': webhookToken }
                    : {};
          const r = withBody('POST', `/v5/iot/${c.project}/devices/${c.device}/messages`, c.body, headers);
          const res = await sendAndCheck(r);
          if (c.auth !== 'right') {
            // Bodies are read before the token is looked at: one that is no JSON, not JSON, or over
            // 1 MiB may be refused (400/413/415) first. Any other body without the token is a 401.
            const plain = c.body.kind === 'empty' || (c.body.kind === 'json' && c.body.transport === PLAIN && (r.body?.length ?? 0) <= 1024 * 1024);
            if (plain) expect(res.status, res.text).toBe(401);
            else expect([400, 401, 413, 415], res.text).toContain(res.status);
          }
        },
      ),
      runs(50),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  // ------------------------------------------------------------ formatter test tool, replay, properties

  it('POST /api/formatters/test: any request gets 2xx or a 4xx in the error shape, and stores nothing whatever the answer', async () => {
    const shortUplink = fc.record(
      {
        frm_payload: mostly(fc.constantFrom('AQID', '', 'AQ==', 'AOcBkgQQ'), fc.oneof(fc.constantFrom('===', 'not base64'), nastyString)),
        bytes: mostly(fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 8 }), fc.oneof(fc.array(fc.integer({ min: -1, max: 256 }), { maxLength: 8 }), weirdValue)),
        f_port: mostly(fc.integer({ min: 0, max: 255 }), fc.oneof(fc.constantFrom(-1, 256), weirdValue)),
        decoded_payload: mostly(fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }), weirdValue),
        received_at: validDateTimeString,
      },
      { requiredKeys: ['f_port'] },
    );
    const ttsInput = fc
      .record({ received_at: mostly(validDateTimeString, fc.oneof(dateTimeString, weirdValue)), uplink: mutations(2), upRecv: mostly(validDateTimeString, dateTimeString) })
      .map((c) => {
        const body = uplinkBody();
        body.received_at = c.received_at;
        body.uplink_message.received_at = c.upRecv;
        if (c.uplink.length && Math.abs(c.upRecv.length) % 2) delete body.uplink_message.received_at;
        return applyMutations(body, c.uplink);
      });
    const testRequest = maybeMutated(
      fc.record(
        {
          app_id: mostly(fc.constantFrom(...FIXTURE_APPS, 'default', 'nobody-here'), nastyString),
          direction: mostly(fc.constantFrom('uplink', 'downlink'), nastyString),
          formatter: fc.record({ type: fc.constantFrom('javascript', 'none', 'cayennelpp'), script: scriptArb, timeout_ms: mostly(fc.constantFrom(1, 20, 100), fc.constantFrom(0, 5001)) }, { requiredKeys: [] }),
          input: fc.oneof(shortUplink, ttsInput, payloadArb),
          f_port: mostly(fc.integer({ min: 1, max: 223 }), fc.oneof(fc.constantFrom(0, 224), weirdValue)),
        },
        { requiredKeys: ['direction', 'input'] },
      ),
      2,
    );
    await checkProperty(
      'admin formatter test',
      fuzzProperty(bodyCaseArb(fc.oneof({ weight: 5, arbitrary: testRequest }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) })), async (b) => {
        await sendAndCheck(withBody('POST', '/api/formatters/test', b), { tablesUntouched: true });
      }),
      runs(70),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('POST /api/dead-letters/{id}/replay: any id (and body) gets 2xx or a 4xx in the error shape, storing nothing but a failed replay\'s new dead letter', async () => {
    const idArb = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 1, max: 12 }).map(String) },
      { weight: 2, arbitrary: fc.constantFrom(...deadLetterIds.map(String)) },
      { weight: 2, arbitrary: fc.constantFrom('0', '-1', '1.0', '1e0', '0x1', ' 1', '+1', '1.5', '9007199254740993', '1e300', 'NaN', 'Infinity', 'abc', '%20', '') },
      { weight: 1, arbitrary: nastyString },
    );
    await checkProperty(
      'admin dead-letter replay',
      fuzzProperty(fc.record({ id: idArb, body: bodyCaseArb(fc.jsonValue({ maxDepth: 2 })) }), async (c) => {
        const id = /^[A-Za-z0-9._~-]*$/.test(c.id) ? c.id : pct(c.id);
        await sendAndCheck(withBody('POST', `/api/dead-letters/${id}/replay`, c.body));
      }),
      runs(40),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('PUT /api/devices/{id}/properties/{name} (a `downlink` sends it): any value gets 2xx or a 4xx in the error shape, storing nothing', async () => {
    await checkProperty(
      'admin device properties',
      fuzzProperty(
        fc.record({
          device: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...DEVICES) }, { weight: 1, arbitrary: segmentArb(DEVICES) }),
          name: fc.oneof({ weight: 3, arbitrary: fc.constant('downlink') }, { weight: 2, arbitrary: segmentArb(['device', 'location', 'color', 'a'.repeat(64), 'a'.repeat(65), 'bad name', 'ä']) }),
          body: bodyCaseArb(fc.oneof(payloadArb, fc.constantFrom(new Huge(70_000)), fc.dictionary(fc.string({ maxLength: 4 }), weirdValue, { maxKeys: 3 }))),
        }),
        async (c) => {
          await sendAndCheck(withBody('PUT', `/api/devices/${c.device}/properties/${c.name}`, c.body));
        },
      ),
      runs(50),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('every admin body endpoint: bytes that are not JSON, JSON at the edges, other content types and encodings get 2xx or a 4xx in the error shape, storing nothing', async () => {
    const routes: [string, string][] = [
      ['PUT', '/api/profiles/fuzz-raw'],
      ['PUT', '/api/profiles/default'],
      ['POST', `/downlink/${DEVICES[0]}`],
      ['POST', `/downlink/${DEVICES[1]}/clear`],
      ['POST', `/api/devices/${DEVICES[0]}/messages`],
      ['POST', `/v5/iot/proj-1/devices/${DEVICES[0]}/messages`],
      ['POST', '/api/formatters/test'],
      ['POST', '/api/formatters/test-recent'],
      ['POST', '/api/formatters/examples'],
      ['PATCH', '/api/profiles/default/formatter-versions/1'],
      ['POST', `/api/dead-letters/${deadLetterIds[0]}/replay`],
      ['PUT', `/api/devices/${DEVICES[0]}/properties/color`],
      ['PUT', `/api/devices/${DEVICES[1]}/properties/downlink`],
    ];
    await checkProperty(
      'admin raw bodies',
      fuzzProperty(
        fc.record({
          route: fc.constantFrom(...routes),
          body: fc.oneof(
            { weight: 3, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: rawBodyArb, transport: transportArb }) },
            // JSON an endpoint takes, sent in a way it may or may not take
            { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), value: fc.constantFrom({ formatter: { type: 'none' } }, { payload: 'AQID', f_port: 1 }, { message: { a: 1 } }, { direction: 'downlink', input: {} }, {}), transport: transportArb }) },
          ),
        }),
        async (c) => {
          const [method, path] = c.route;
          const headers: Record<string, string> = path.startsWith('/v5/') ? { 'X-Auth-Token': ADMIN_TOKEN } : { Authorization: `Bearer ${ADMIN_TOKEN}` };
          await sendAndCheck(withBody(method, path, c.body, headers));
        },
      ),
      runs(70),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  // ------------------------------------------------------------ queries and auth

  it('GET list endpoints: any query string gets 2xx or a 4xx in the error shape, and a read changes nothing', async () => {
    const CATEGORIES = ['uplink', 'downlink', 'formatter', 'provisioning', 'webhook', 'profile', 'device', 'auth', 'system'];
    const eventQuery = { app_id: text, device_id: text, category: enumOf(...CATEGORIES), severity: enumOf('info', 'warning', 'error'), after_id: numText, limit: numText };
    const endpoints: [string, fc.Arbitrary<string>][] = [
      ['/api/devices', queryArb({ app_id: text, search: text, limit: numText, cursor: fc.oneof(text, fc.base64String({ maxLength: 40 })) })],
      ['/api/buckets', queryArb({ app_id: text, device_id: text })],
      ['/api/dead-letters', queryArb({ app_id: text, limit: numText })],
      ['/api/events', queryArb(eventQuery)],
      ['/api/events/stream', queryArb(eventQuery)],
      ['/api/profiles', queryArb({ x: text })],
    ];
    // (weighted by how many numbers and times an endpoint's query takes)
    const caseArb = fc.oneof(
      ...endpoints.map(([path, q]) => ({ weight: 2, arbitrary: q.map((query) => `${path}${query}`) })),
      { weight: 4, arbitrary: fc.tuple(segmentArb(DEVICES), queryArb({ from: time, to: time, limit: numText, order: enumOf('asc', 'desc'), format: enumOf('json', 'csv') })).map(([id, q]) => `/api/buckets/${id}/data${q}`) },
      { weight: 4, arbitrary: fc.tuple(segmentArb(DEVICES), queryArb({ limit: numText, offset: numText })).map(([id, q]) => `/api/devices/${id}/messages${q}`) },
      { weight: 1, arbitrary: fc.tuple(segmentArb(DEVICES), queryArb({ cursor: text })).map(([id, q]) => `/api/devices/${id}${q}`) },
      // single resources by id: ids of every shape
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.constantFrom('device-message', 'bucket', 'property', 'profile', 'webhook', 'iotda-list', 'iotda-message'), segmentArb(DEVICES), segmentArb(['m1', 'downlink', 'device', 'fuzz-app', 'default']))
          .map(([kind, id, sub]) =>
            kind === 'device-message'
              ? `/api/devices/${id}/messages/${sub}`
              : kind === 'bucket'
                ? `/api/buckets/${id}`
                : kind === 'property'
                  ? `/api/devices/${id}/properties/${sub}`
                  : kind === 'profile'
                    ? `/api/profiles/${sub}`
                    : kind === 'webhook'
                      ? `/api/profiles/${sub}/webhook`
                      : kind === 'iotda-list'
                        ? `/v5/iot/p/devices/${id}/messages`
                        : `/v5/iot/p/devices/${id}/messages/${sub}`,
          ),
      },
    );
    await checkProperty(
      'admin queries',
      fuzzProperty(caseArb, async (path) => {
        const headers: Record<string, string> = path.startsWith('/v5/') ? { 'X-Auth-Token': ADMIN_TOKEN } : { Authorization: `Bearer ${ADMIN_TOKEN}` };
        await sendAndCheck({ method: 'GET', path, headers }, { readOnly: true });
      }),
      runs(110),
    );
  }, FUZZ_TEST_TIMEOUT_MS);

  it('admin routes without the admin token: 401 in the error shape, storing nothing', async () => {
    const routes: [string, string][] = [
      ['PUT', '/api/profiles/fuzz-app'],
      ['DELETE', '/api/profiles/fuzz-app'],
      ['POST', '/api/profiles/fuzz-app/webhook'],
      ['GET', '/api/profiles/fuzz-app/webhook'],
      ['POST', `/downlink/${DEVICES[0]}`],
      ['POST', `/downlink/${DEVICES[0]}/clear`],
      ['POST', `/api/devices/${DEVICES[0]}/messages`],
      ['DELETE', `/api/devices/${DEVICES[0]}`],
      ['PUT', `/api/devices/${DEVICES[0]}/properties/downlink`],
      ['POST', '/api/formatters/test'],
      ['POST', `/api/dead-letters/${1}/replay`],
      ['GET', '/api/events'],
      ['GET', '/metrics'],
    ];
    await checkProperty(
      'admin auth',
      fuzzProperty(
        fc.record({
          route: fc.constantFrom(...routes),
          upper: fc.boolean(),
          auth: fc.oneof(
            fc.constantFrom('', 'Bearer', `Bearer ${ADMIN_TOKEN}x`, `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`, `Bearer ${ADMIN_TOKEN} x`, 'webhook'),
            fc.stringMatching(/^[\x20-\x7e]{0,60}$/),
            fc.constant(null),
          ),
          body: fc.oneof(
            fc.record({ kind: fc.constant('json' as const), value: fc.jsonValue({ maxDepth: 2 }), transport: fc.constant(PLAIN) }),
            fc.constant({ kind: 'empty' as const }),
          ),
        }),
        async (c) => {
          const [method, path] = c.route;
          const headers: Record<string, string> = {};
          if (c.auth === 'webhook') headers.Authorization = `Bearer ${webhookToken}`;
          else if (c.auth !== null) headers.Authorization = c.auth;
          const r = withBody(method, c.upper ? path.toUpperCase() : path, c.body, headers);
          const res = await sendAndCheck(r);
          // (a body over 1 MiB is refused, 413, before the token is looked at)
          if ((r.body?.length ?? 0) <= 1024 * 1024) expect(res.status, res.text).toBe(401);
          else expect(res.status, res.text).toBe(413);
        },
      ),
      runs(40),
    );
  }, FUZZ_TEST_TIMEOUT_MS);
});
