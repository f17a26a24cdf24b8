/**
 * Property-based fuzzing of the ThingPark report path (`POST /thingpark/{app_id}`): correctly
 * signed reports of every type whose fields take any value (typed, untyped, XML), and unsigned or
 * broken ones. Any input gets a 2xx or a 4xx in the error shape within the time limit, never a
 * 5xx, and a 4xx changes nothing stored (a refused token: at most one `auth` event).
 */
import fc from 'fast-check';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkProperty,
  countAnswer,
  errorShapeProblem,
  FUZZ_TEST_TIMEOUT_MS,
  fuzzProperty,
  nastyString,
  preview,
  runs,
  send,
  StoreWatch,
  weirdValue,
  type FuzzRequest,
  type StoreSnapshot,
} from '../helpers/fuzz.js';
import { PluginHarness } from '../helpers/plugin-harness.js';
import { CONTENT_TYPES, encodeBody, putThingParkProfile, REPORT_TYPES, signedPath, tpFixture, type BodyFormat, type Report } from '../helpers/thingpark-peer.js';

const APP = 'tp-fuzz';
const AS_ID = 'TWA_100002167.1111.AS';
const AS_KEY = '00112233445566778899aabbccddeeff';

/** Values a field may take in a hostile report: the right kind, the wrong kind, edges. */
const fieldValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('0', '1', '', '00', 'FFFFFFFF', '20635F0108000496', '2021-04-07T08:49:45.235+00:00', '9'.repeat(30)),
  fc.integer(),
  fc.double(),
  nastyString,
  weirdValue,
);

/** A report of any type: a fixture with some fields replaced, removed or added. */
const reportArb: fc.Arbitrary<Report> = fc
  .record({
    type: fc.constantFrom(...REPORT_TYPES),
    changes: fc.array(fc.tuple(fc.constantFrom('DevEUI', 'FPort', 'FCntUp', 'FCntDn', 'payload_hex', 'Time', 'DevAddr', 'CustomerID', 'CorrelationID', 'DeliveryStatus', 'DevLAT', 'DevLON', 'ACKbit', 'Lrrs', 'payload', 'extra'), fc.option(fieldValue)), { maxLength: 4 }),
  })
  .map(({ type, changes }) => {
    const report = tpFixture(type);
    const fields = report[type] as Record<string, unknown>;
    for (const [name, value] of changes) {
      if (value === null) delete fields[name];
      else fields[name] = value;
    }
    return report;
  });

describe('fuzz: ThingPark reports (fast-check)', () => {
  let plugin: PluginHarness;
  let watch: StoreWatch;

  beforeAll(async () => {
    plugin = await new PluginHarness().start();
    // No time window: recorded fixtures keep their Time.
    const res = await putThingParkProfile(plugin, APP, { asId: AS_ID, asKey: AS_KEY, downlinkUrl: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink', maxClockSkewS: 0, settings: { formatter: { type: 'none' }, uplink: { update_location: true, save_metadata: true } } });
    expect(res.status, res.text).toBe(201);
    watch = new StoreWatch(join(plugin.dataDir, 'plugin.db'));
  }, FUZZ_TEST_TIMEOUT_MS);

  afterAll(async () => {
    watch?.close();
    await plugin?.destroy();
  }, FUZZ_TEST_TIMEOUT_MS);

  async function sendAndCheck(r: FuzzRequest): Promise<void> {
    const before: StoreSnapshot = await watch.settledSnapshot();
    const res = await send(plugin.url, r);
    countAnswer(res);
    if (res.status < 300) watch.mayBeBusy();
    const what = `${r.method} ${r.path.slice(0, 300)}\nbody: ${preview(r.body)}\nanswer ${res.status}: ${preview(res.text, 400)}`;
    expect(res.status >= 200 && res.status < 300 || res.status >= 400 && res.status < 500, `status ${res.status}\n${what}`).toBe(true);
    if (res.status >= 400) {
      expect(errorShapeProblem(res), `wrong error shape\n${what}`).toBeNull();
      const after = watch.snapshot();
      expect(StoreWatch.changedTables(before, after), `a ${res.status} changed the store\n${what}`).toEqual([]);
      const events = watch.eventsAfter(before.eventsMaxId);
      expect(events.filter((e) => e.category !== 'auth'), `a ${res.status} wrote events\n${what}`).toEqual([]);
      expect(events.length, `a ${res.status} wrote ${events.length} events\n${what}`).toBeLessThanOrEqual(1);
    }
  }

  it(
    'signed reports of every type with any field values, typed, untyped or XML: 2xx, or a 4xx in the error shape storing nothing',
    async () => {
      const property = fuzzProperty(fc.record({ report: reportArb, format: fc.constantFrom<BodyFormat>('typed', 'untyped', 'xml') }), async ({ report, format }) => {
        let body: string;
        try {
          body = encodeBody(report, format);
        } catch {
          return; // a value the stand-in cannot write in that format
        }
        let path: string;
        try {
          path = signedPath(APP, report, { asId: AS_ID, asKey: AS_KEY, now: new Date() });
        } catch {
          path = `/thingpark/${APP}?AS_ID=${AS_ID}`;
        }
        await sendAndCheck({ method: 'POST', path, headers: { 'Content-Type': CONTENT_TYPES[format] }, body });
      });
      await checkProperty('thingpark signed reports', property, runs(150));
    },
    FUZZ_TEST_TIMEOUT_MS,
  );

  it(
    'any query, body and content type, signed or not: 2xx, or a 4xx in the error shape storing nothing',
    async () => {
      const arb = fc.record({
        app: fc.oneof(fc.constant(APP), fc.constantFrom('default', 'nope-app', '%ZZ', 'TP-FUZZ', 'a'.repeat(200))),
        query: fc.oneof(fc.constant(''), fc.string({ maxLength: 300 }).map((q) => `?${q}`), fc.constant(`?AS_ID=${AS_ID}&Token=${'0'.repeat(64)}`)),
        body: fc.oneof(fc.string({ maxLength: 2000 }), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)), fc.constant('<DevEUI_uplink><DevEUI>20635F0108000496</DevEUI></DevEUI_uplink>')),
        type: fc.constantFrom('application/json', 'application/xml', 'text/xml', 'text/plain', undefined),
        method: fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT'),
      });
      const property = fuzzProperty(arb, async ({ app, query, body, type, method }) => {
        await sendAndCheck({ method, path: `/thingpark/${app}${query.replace(/[#\s]/g, '')}`, headers: type ? { 'Content-Type': type } : {}, ...(method === 'GET' ? {} : { body }) });
      });
      await checkProperty('thingpark any request', property, runs(150));
    },
    FUZZ_TEST_TIMEOUT_MS,
  );
});
