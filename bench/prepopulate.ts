import Database from 'better-sqlite3';
import { RECENT_PER_SESSION } from '../plugin/store/recent-uplinks.js';
import { SqliteStore } from '../plugin/store/sqlite-store.js';
import { benchDevice, downlinkHeaders, payloadOf, SESSION_KEY_ID } from './uplinks.js';

export interface PrepopulateOptions {
  file: string;
  appId: string;
  devices: number;
  /** Bucket rows in all, spread evenly over the devices (their f_cnts fill the dedupe windows). */
  rows: number;
}

export interface PrepopulateResult {
  devices: number;
  rows: number;
  seconds: number;
}

const JOIN_EUI = '0000000000000000';
const DEV_ADDR = '260B1E42';

/** What the bench formatter stores for device `i`'s payload. */
function dataOf(i: number): string {
  const payload = Buffer.from(payloadOf(i), 'base64');
  return `{"temperature":${payload.readInt16BE(0) / 100},"humidity":${payload.readUInt16BE(2) / 100},"port":2,"variant":0}`;
}

/**
 * Writes what the plugin would have after `rows` uplinks from `devices` auto-provisioned devices
 * (profile defaults: device id = bucket id = DevEUI): devices, their properties and downlink
 * credentials (with their dedupe windows), buckets and bucket rows. The schema comes from SqliteStore
 * itself (opened once and closed); the rows go in with prepared statements in one transaction,
 * before the plugin opens the file.
 */
export async function prepopulate(o: PrepopulateOptions): Promise<PrepopulateResult> {
  const started = performance.now();
  const schema = new SqliteStore({ file: o.file, eventCap: 100_000, now: () => new Date() });
  await schema.close();

  const db = new Database(o.file);
  try {
    // Bulk load: no journal, no fsync, big cache; back to WAL (what SqliteStore uses) at the end.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144');
    const insertDevice = db.prepare(
      `INSERT INTO devices (id, app_id, network, ids, asset_type, asset_group, connection_timeout_min, bucket_id, created_at, last_seen_at, state, recent_uplinks)
       VALUES (?, ?, 'tts', ?, NULL, NULL, 10, ?, ?, ?, ?, ?)`,
    );
    const insertProp = db.prepare('INSERT INTO device_properties (device_id, name, value, updated_at) VALUES (?, ?, ?, ?)');
    const insertCreds = db.prepare(
      'INSERT INTO device_credentials (device_id, value, updated_at) VALUES (?, ?, ?)',
    );
    const insertBucket = db.prepare('INSERT INTO buckets (id, device_id, app_id, created_at) VALUES (?, ?, ?, ?)');
    const insertRow = db.prepare('INSERT INTO bucket_rows (bucket_id, ts, data) VALUES (?, ?, ?)');

    const endMs = Date.parse('2025-04-16T11:00:00Z');
    const periodMs = 15 * 60_000;
    const perDevice = Math.floor(o.rows / o.devices);
    const extra = o.rows - perDevice * o.devices;
    const rowsOf = (i: number) => perDevice + (i < extra ? 1 : 0);
    const createdAt = new Date(endMs - (perDevice + 2) * periodMs).toISOString();

    // Built once per device, not once per row (1M rows at the big scale).
    const devices = Array.from({ length: o.devices }, (_, i) => benchDevice(i, o.appId));
    const data = devices.map((d) => dataOf(d.index));

    db.transaction(() => {
      for (const d of devices) {
        const i = d.index;
        const id = d.devEui;
        const rows = rowsOf(i);
        const lastSeen = new Date(endMs).toISOString();
        const ids = { network: 'tts', app_id: o.appId, network_device_id: d.ttsDeviceId, dev_eui: d.devEui, join_eui: JOIN_EUI, dev_addr: DEV_ADDR };
        const state = rows > 0 ? JSON.stringify({ ...ids, f_port: 2, f_cnt: rows - 1, last_seen: lastSeen }) : null;
        const recent = rows > 0 ? JSON.stringify([[SESSION_KEY_ID, Array.from({ length: Math.min(rows, RECENT_PER_SESSION) }, (_, k) => rows - Math.min(rows, RECENT_PER_SESSION) + k)]]) : null;
        insertDevice.run(id, o.appId, JSON.stringify(ids), id, createdAt, rows > 0 ? lastSeen : null, state, recent);
        insertProp.run(id, 'downlink', '{}', createdAt);
        if (rows > 0) {
          const h = downlinkHeaders(d);
          insertCreds.run(id, JSON.stringify({ apiKey: h['X-Downlink-Apikey'], pushUrl: h['X-Downlink-Push'], replaceUrl: h['X-Downlink-Replace'] }), lastSeen);
        }
        insertBucket.run(id, id, o.appId, createdAt);
      }
      // Rows in time order across devices, as uplinks arrive: device by device would pack the
      // (bucket_id, ts) index full, and every first uplink per device after the start would split a page.
      for (let k = 0; k < perDevice + (extra > 0 ? 1 : 0); k++) {
        for (let i = 0; i < o.devices; i++) {
          const rows = rowsOf(i);
          if (k >= rows) continue;
          insertRow.run(devices[i].devEui, endMs - (rows - 1 - k) * periodMs, data[i]);
        }
      }
    })();
    db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
  return { devices: o.devices, rows: o.rows, seconds: (performance.now() - started) / 1000 };
}
