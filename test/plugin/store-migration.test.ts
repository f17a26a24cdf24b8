import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../plugin/store/sqlite-schema.js';
import { SqliteStore } from '../../plugin/store/sqlite-store.js';

describe('SQLite schema upgrades', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A data dir as plugin versions with the first `version` schema migrations left it. */
  const oldDatabase = (version: number) => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-migrate-'));
    dirs.push(dir);
    const file = join(dir, 'plugin.db');
    const db = new Database(file);
    for (const migration of MIGRATIONS.slice(0, version)) db.exec(migration);
    db.pragma(`user_version = ${version}`);
    return { db, file };
  };

  it('opens a first-version data dir and keeps every device property', async () => {
    const { db: old, file } = oldDatabase(1);
    const ids = { device_id: 'dev-1', application_id: 'app-1', dev_eui: '0011223344556677' };
    old
      .prepare(
        `INSERT INTO devices (id, app_id, tts, connection_timeout_min, bucket_id, created_at, last_seen_at)
         VALUES ('0011223344556677', 'app-1', ?, 10, NULL, '2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z')`,
      )
      .run(JSON.stringify(ids));
    const prop = old.prepare("INSERT INTO device_properties (device_id, name, value, updated_at) VALUES ('0011223344556677', ?, ?, '2025-01-02T00:00:00.000Z')");
    prop.run('device', JSON.stringify({ ...ids, f_port: 3, f_cnt: 41 }));
    prop.run('downlink', JSON.stringify({ interval: 60 }));
    old.close();

    const store = new SqliteStore({ file, eventCap: 1000, now: () => new Date() });
    const device = await store.getDevice('0011223344556677');
    await store.close();
    // The last migration names the ids network-neutrally (networks/network.ts).
    const neutral = { network: 'tts', app_id: 'app-1', network_device_id: 'dev-1', dev_eui: '0011223344556677' };
    expect(device?.properties).toEqual({ device: { ...neutral, f_port: 3, f_cnt: 41 }, downlink: { interval: 60 } });
    expect(device?.ids).toEqual(neutral);
    expect(device?.lastSeenAt).toBe('2025-01-02T00:00:00.000Z');
  });

  it('moves the dedupe keys of a second-version data dir into the devices and drops the key table; without payloads in them they drop no uplink', async () => {
    const { db: old, file } = oldDatabase(2);
    const ids = { device_id: 'dev-1', application_id: 'app-1', dev_eui: '0011223344556677' };
    old
      .prepare(
        `INSERT INTO devices (id, app_id, tts, connection_timeout_min, bucket_id, created_at, last_seen_at)
         VALUES ('0011223344556677', 'app-1', ?, 10, '0011223344556677', '2025-01-01T00:00:00.000Z', '2025-01-02T00:00:00.000Z')`,
      )
      .run(JSON.stringify(ids));
    const key = old.prepare("INSERT INTO uplink_keys (device_id, session_key_id, f_cnt) VALUES ('0011223344556677', 'S1', ?)");
    for (let fCnt = 1; fCnt <= 40; fCnt++) key.run(fCnt);
    old.close();

    const store = new SqliteStore({ file, eventCap: 1000, now: () => new Date() });
    const write = (fCnt: number) =>
      store.commitUplink({
        dedupe: { deviceId: '0011223344556677', sessionKeyId: 'S1', fCnt, payload: 'fingerprint0' },
        newDevice: null,
        provisionEvents: [],
        newBucket: null,
        bucketRow: { bucketId: '0011223344556677', tsMs: Date.parse('2025-01-03T00:00:00Z'), data: { fCnt } },
        deadLetter: null,
        resolvesDeadLetter: null,
        deviceSeen: { id: '0011223344556677', lastSeenAt: '2025-01-03T00:00:00.000Z', state: {}, properties: {} },
        credentials: null,
        recent: null,
        events: [],
      });
    // The old keys say nothing of the payload: an uplink with their f_cnt may be new data.
    expect((await write(40)).duplicate).toBe(false);
    expect((await write(40)).duplicate).toBe(true);
    expect((await write(41)).duplicate).toBe(false);
    expect((await write(41)).duplicate).toBe(true);
    await store.close();
    const reopened = new Database(file);
    const tables = reopened.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'uplink_keys'").all();
    reopened.close();
    expect(tables).toEqual([]);
  });
});
