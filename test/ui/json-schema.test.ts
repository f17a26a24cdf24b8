import { describe, expect, it } from 'vitest';
import { buildManifest } from '../../plugin/manifest.js';
import { defaultSettings } from '../../plugin/profiles.js';
import { APP_ID_PATTERN } from '../../plugin/schemas/profile.js';
import { APP_ID_PATTERN as UI_APP_ID_PATTERN } from '../../plugin/ui/lib/networks.js';
import { constraintsOf, fieldOf, labelOf, problemsOf, type JsonSchema } from '../../plugin/ui/schema/json-schema.js';
import { thingparkProblems } from '../../plugin/ui/screens/profiles/thingpark-fields.js';

/** The UI renders settings from the schema published in /manifest.json: check it reads it right. */
const schema = JSON.parse(JSON.stringify(buildManifest().settings.schema)) as JsonSchema;
const uplink = schema.properties!.uplink.properties!;
const downlink = schema.properties!.downlink.properties!;
const thingpark = schema.properties!.thingpark;

describe('settings schema in the UI', () => {
  it('derives each control from the schema', () => {
    expect(fieldOf(uplink.auto_provision)).toEqual({ kind: 'boolean' });
    expect(fieldOf(uplink.device_id_source)).toEqual({ kind: 'enum', options: ['dev_eui', 'device_id'] });
    expect(fieldOf(uplink.connection_timeout_min)).toEqual({ kind: 'integer', nullable: false, min: 1, max: 43200 });
    expect(fieldOf(downlink.f_port)).toEqual({ kind: 'integer', nullable: true, min: 1, max: 223 });
    expect(fieldOf(uplink.asset_type)).toMatchObject({ kind: 'string', nullable: true, minLength: 1, maxLength: 64 });
    expect(fieldOf(uplink.initial_downlink)).toEqual({ kind: 'object' });
    expect(fieldOf(downlink.priority)).toMatchObject({ kind: 'enum' });
  });

  it('labels fields and summarises their constraints', () => {
    expect(labelOf('connection_timeout_min', uplink.connection_timeout_min)).toBe('Connection timeout (minutes)');
    expect(labelOf('device_id_prefix', uplink.device_id_prefix)).toBe('Device ID prefix');
    expect(constraintsOf(uplink.connection_timeout_min)).toBe('1–43200 · default 10');
    expect(constraintsOf(uplink.device_id_prefix)).toBe('up to 32 characters · default empty');
    expect(constraintsOf(downlink.status_notification_url)).toBe('up to 2048 characters · http(s) URL · optional · default none');
  });

  it('accepts the server defaults and flags what the server would refuse, by JSON pointer', () => {
    expect(problemsOf(schema, defaultSettings())).toEqual({});
    const bad = defaultSettings() as unknown as { uplink: Record<string, unknown>; downlink: Record<string, unknown> };
    bad.uplink.connection_timeout_min = 0;
    bad.uplink.device_id_prefix = 'no spaces';
    bad.uplink.initial_downlink = '{not json';
    bad.downlink.f_port = 224;
    bad.downlink.status_notification_url = 'not a url';
    bad.uplink.asset_type = '';
    expect(problemsOf(schema, bad)).toEqual({
      '/uplink/connection_timeout_min': 'must be at least 1',
      '/uplink/device_id_prefix': 'is not in the allowed form',
      '/uplink/initial_downlink': 'must be a JSON object',
      '/downlink/f_port': 'must be at most 223',
      '/downlink/status_notification_url': 'must be a URL',
      '/uplink/asset_type': 'must have at least 1 character',
    });
    bad.downlink.status_notification_url = 'ftp://example.com/x';
    expect(problemsOf(schema, bad)['/downlink/status_notification_url']).toBe('is not in the allowed form');
  });

  it('reads the network choice and the ThingPark connection, its key as a write-only secret', () => {
    expect(fieldOf(schema.properties!.network)).toEqual({ kind: 'enum', options: ['tts', 'thingpark'] });
    expect(fieldOf(thingpark.properties!.as_key)).toMatchObject({ kind: 'string', secret: true });
    expect(fieldOf(thingpark.properties!.as_id)).not.toHaveProperty('secret');
    expect(labelOf('as_id', thingpark.properties!.as_id)).toBe('AS ID');
    expect(labelOf('max_clock_skew_s', thingpark.properties!.max_clock_skew_s)).toBe('Max clock skew (seconds)');
    expect(labelOf('downlink_url', thingpark.properties!.downlink_url)).toBe('Downlink URL');
    // A TTS profile has no connection: nothing to flag.
    expect(problemsOf(schema, defaultSettings())).toEqual({});

    const ok = { as_id: 'TWA_100002167.1111.AS', downlink_url: 'https://api.thingpark.com/thingpark/lrc/rest/downlink', max_clock_skew_s: 60 };
    expect(thingparkProblems(thingpark, ok, { keyRequired: false })).toEqual({});
    expect(thingparkProblems(thingpark, ok, { keyRequired: true })).toEqual({ '/thingpark/as_key': 'is required' });
    expect(thingparkProblems(thingpark, { ...ok, as_key: '0123456789abcdef0123456789ABCDEF' }, { keyRequired: true })).toEqual({});
    expect(thingparkProblems(thingpark, { as_id: '', as_key: 'xyz', downlink_url: 'ftp://x', max_clock_skew_s: -1 }, { keyRequired: false })).toEqual({
      '/thingpark/as_id': 'is required',
      '/thingpark/as_key': 'must be 32 hex characters (0–9, a–f)',
      '/thingpark/downlink_url': 'is not in the allowed form',
      '/thingpark/max_clock_skew_s': 'must be at least 0',
    });
  });

  it('checks app ids with the plugin\'s own rule', () => {
    expect(UI_APP_ID_PATTERN.source).toBe(APP_ID_PATTERN.source);
    expect(UI_APP_ID_PATTERN.flags).toBe(APP_ID_PATTERN.flags);
  });
});
