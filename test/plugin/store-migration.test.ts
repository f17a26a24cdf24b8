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

  it('opens a first-version data dir and keeps every device property', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'plugin-migrate-'));
    dirs.push(dir);
    const file = join(dir, 'plugin.db');
    const old = new Database(file);
    old.exec(MIGRATIONS[0]);
    old.pragma('user_version = 1');
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
    expect(device?.properties).toEqual({ device: { ...ids, f_port: 3, f_cnt: 41 }, downlink: { interval: 60 } });
    expect(device?.lastSeenAt).toBe('2025-01-02T00:00:00.000Z');
  });
});
