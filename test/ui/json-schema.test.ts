import { describe, expect, it } from 'vitest';
import { buildManifest } from '../../plugin/manifest.js';
import { defaultSettings } from '../../plugin/profiles.js';
import { constraintsOf, fieldOf, labelOf, problemsOf, type JsonSchema } from '../../plugin/ui/schema/json-schema.js';

/** The UI renders settings from the schema published in /manifest.json: check it reads it right. */
const schema = JSON.parse(JSON.stringify(buildManifest().settings.schema)) as JsonSchema;
const uplink = schema.properties!.uplink.properties!;
const downlink = schema.properties!.downlink.properties!;

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
});
