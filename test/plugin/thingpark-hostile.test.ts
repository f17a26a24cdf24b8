/**
 * Hostile ThingPark reports: XML entity expansion (billion laughs) and external entities, bodies over
 * the size limit, deep nesting, bad DevEUIs, bodies that are no report, and other content types.
 * Each is a 4xx, answered quickly, storing nothing; the plugin keeps serving.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PluginHarness, TestClock } from '../helpers/plugin-harness.js';
import { expectError } from '../helpers/tts-bodies.js';
import { VECTOR, postReport, putThingParkProfile, toXml, uplinkReport, type PostReportOptions, type Report } from '../helpers/thingpark-peer.js';

const APP = 'tp-app';
const AS_ID = VECTOR.asId;
const AS_KEY = '0f1e2d3c4b5a69780f1e2d3c4b5a6978';
const EUI = 'A0000000000000F1';

const BILLION_LAUGHS_DTD = `<!DOCTYPE DevEUI_uplink [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>`;

/** An XML report with a DTD inserted after the declaration and `field` replaced by `value` (raw XML). */
function xmlWith(dtd: string, field: string, value: string, report: Report = uplinkReport({ devEui: EUI })): string {
  const xml = toXml(report);
  const withDtd = xml.replace('?>\n', `?>\n${dtd}\n`);
  return withDtd.replace(new RegExp(`<${field}>[^<]*</${field}>`), `<${field}>${value}</${field}>`);
}

describe('hostile ThingPark reports', () => {
  let clock: TestClock;
  let plugin: PluginHarness;
  beforeEach(async () => {
    clock = new TestClock();
    plugin = await new PluginHarness({ clock }).start();
    const put = await putThingParkProfile(plugin, APP, {
      asId: AS_ID,
      asKey: AS_KEY,
      downlinkUrl: 'http://127.0.0.1:9/thingpark/lrc/rest/downlink',
      settings: { formatter: { type: 'javascript', script: 'function decodeUplink(i) { return { data: { n: i.bytes.length } }; }' } },
    });
    expect(put.status, put.text).toBe(201);
  });
  afterEach(async () => {
    await plugin.destroy();
  });

  const opts = (o: Partial<PostReportOptions> = {}): PostReportOptions => ({ asId: AS_ID, asKey: AS_KEY, now: clock.now(), ...o });
  const send = (report: Report, o: Partial<PostReportOptions> = {}) => postReport(plugin, APP, report, opts(o));

  async function expectNothingStored(): Promise<void> {
    expect((await plugin.request('GET', '/api/devices')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/buckets')).body.items).toEqual([]);
    expect((await plugin.request('GET', '/api/dead-letters')).body.items).toEqual([]);
  }
  async function expectStillServing(): Promise<void> {
    const res = await send(uplinkReport({ devEui: EUI, fCntUp: 99 }));
    expect(res.status, res.text).toBe(200);
  }

  describe('XML with a DOCTYPE', () => {
    it('billion laughs: 400 within a second, nothing expanded or stored', async () => {
      for (const field of ['payload_hex', 'CustomerID', 'DevEUI']) {
        const raw = xmlWith(BILLION_LAUGHS_DTD, field, '&lol9;');
        const started = Date.now();
        const res = await send(uplinkReport({ devEui: EUI }), { format: 'xml', raw });
        const took = Date.now() - started;
        expectError(res, 400);
        expect(took, `answered after ${took} ms`).toBeLessThan(1000);
        expect(res.text.length).toBeLessThan(4096);
        expect(res.text).not.toContain('lollollol');
      }
      await expectNothingStored();
      await expectStillServing();
    });

    it('an external entity (XXE) is refused with 400; no file is read', async () => {
      const dtd = '<!DOCTYPE DevEUI_uplink [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>';
      for (const field of ['CustomerData', 'payload_hex']) {
        const res = await send(uplinkReport({ devEui: EUI }), { format: 'xml', raw: xmlWith(dtd, field, '&xxe;') });
        expectError(res, 400);
        expect(res.text).not.toContain('root:');
      }
      const events = await plugin.request('GET', '/api/events?limit=1000');
      expect(events.text).not.toContain('root:');
      await expectNothingStored();
    });

    it('a DOCTYPE without entities is refused too (400)', async () => {
      const res = await send(uplinkReport({ devEui: EUI }), { format: 'xml', raw: xmlWith('<!DOCTYPE DevEUI_uplink>', 'FPort', '17') });
      expectError(res, 400);
      await expectNothingStored();
    });

    it('an internal entity used once is refused (400), not expanded into a signed value', async () => {
      // The token is computed over the expanded value: a parser expanding it would accept the report.
      const report = uplinkReport({ devEui: EUI, bytes: [0xab, 0xcd] });
      const raw = xmlWith('<!DOCTYPE DevEUI_uplink [ <!ENTITY p "abcd"> ]>', 'payload_hex', '&p;', report);
      const res = await send(report, { format: 'xml', raw });
      expectError(res, 400);
      await expectNothingStored();
    });
  });

  describe('sizes', () => {
    it.each(['typed', 'xml'] as const)('a %s body over 1 MiB is 413, storing nothing', async (format) => {
      const report = uplinkReport({ devEui: EUI });
      report.DevEUI_uplink!.rawMacCommands = 'ab'.repeat(600 * 1024);
      const res = await send(report, { format });
      expectError(res, 413, 'payload_too_large');
      await expectNothingStored();
      await expectStillServing();
    });

    it('JSON nested 9,000 levels deep (as much as 64 KiB holds) is 400, storing nothing', async () => {
      const report = uplinkReport({ devEui: EUI });
      report.DevEUI_uplink!.CustomerData = { deep: 0 };
      const raw = JSON.stringify(report).replace('"deep":0', `"deep":${'{"a":'.repeat(9_000)}1${'}'.repeat(9_000)}`);
      const res = await send(report, { raw });
      expectError(res, 400);
      await expectNothingStored();
      await expectStillServing();
    });

    it('JSON nested 100 levels deep (over the 64 limit) is 400', async () => {
      const report = uplinkReport({ devEui: EUI });
      report.DevEUI_uplink!.CustomerData = { deep: 0 };
      const raw = JSON.stringify(report).replace('"deep":0', `"deep":${'{"a":'.repeat(100)}1${'}'.repeat(100)}`);
      expectError(await send(report, { raw }), 400);
      await expectNothingStored();
    });

    it('XML nested 20,000 elements deep is a 4xx, never a 5xx', async () => {
      const raw = xmlWith('', 'CustomerData', `${'<a>'.repeat(20_000)}1${'</a>'.repeat(20_000)}`);
      const res = await send(uplinkReport({ devEui: EUI }), { format: 'xml', raw });
      expect(res.status, res.text).toBeGreaterThanOrEqual(400);
      expect(res.status, res.text).toBeLessThan(500);
      await expectNothingStored();
      await expectStillServing();
    });
  });

  it.each([
    ['15 hex digits', 'A0000000000000F'],
    ['17 hex digits', 'A0000000000000F11'],
    ['not hex', 'A0000000000000ZZ'],
    ['empty', ''],
    ['a path', '../../etc/passwd'],
    ['with spaces', 'A0 00 00 00 00 00 00 F1'],
  ])('a correctly signed report whose DevEUI is %s is 400, storing nothing', async (_name, devEui) => {
    for (const format of ['typed', 'xml'] as const) {
      const res = await send(uplinkReport({ devEui }), { format });
      expect({ format, status: res.status }).toEqual({ format, status: 400 });
      expectError(res, 400);
    }
    const location = uplinkReport({ devEui });
    const loc: Report = { DevEUI_location: { DevEUI: devEui, CustomerID: location.DevEUI_uplink!.CustomerID, DevLAT: '1', DevLON: '2' } };
    expectError(await send(loc), 400);
    await expectNothingStored();
  });

  describe('bodies that are no report', () => {
    it.each([
      ['not JSON', 'application/json', '{"DevEUI_uplink": {'],
      ['an empty object', 'application/json', '{}'],
      ['an unknown message type', 'application/json', JSON.stringify({ DevEUI_something: uplinkReport({ devEui: EUI }).DevEUI_uplink })],
      ['the fields without their message type', 'application/json', JSON.stringify(uplinkReport({ devEui: EUI }).DevEUI_uplink)],
      ['a JSON array', 'application/json', JSON.stringify([uplinkReport({ devEui: EUI })])],
      ['a JSON string', 'application/json', '"DevEUI_uplink"'],
      ['JSON null', 'application/json', 'null'],
      ['an empty body', 'application/json', ''],
      ['a report type that is a string', 'application/json', '{"DevEUI_uplink": "x"}'],
      ['truncated XML', 'application/xml', toXml(uplinkReport({ devEui: EUI })).slice(0, 200)],
      ['XML with an unknown root', 'application/xml', toXml({ DevEUI_something: uplinkReport({ devEui: EUI }).DevEUI_uplink! })],
      ['XML that is JSON', 'text/xml', JSON.stringify(uplinkReport({ devEui: EUI }))],
      ['JSON that is XML', 'application/json', toXml(uplinkReport({ devEui: EUI }))],
    ])('%s is 400, storing nothing', async (_name, contentType, raw) => {
      const res = await send(uplinkReport({ devEui: EUI }), { raw, contentType });
      expectError(res, 400);
      await expectNothingStored();
    });

    it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', 'multipart/form-data; boundary=x'])(
      'Content-Type %s is 415',
      async (contentType) => {
        const res = await send(uplinkReport({ devEui: EUI }), { contentType, raw: JSON.stringify(uplinkReport({ devEui: EUI })) });
        expectError(res, 415);
        await expectNothingStored();
      },
    );
  });

  it('a flood of refused reports leaves the plugin serving', async () => {
    const raw = xmlWith(BILLION_LAUGHS_DTD, 'payload_hex', '&lol9;');
    await Promise.all(Array.from({ length: 30 }, () => send(uplinkReport({ devEui: EUI }), { format: 'xml', raw })));
    await expectStillServing();
  });
});
