/** SQLite schema, applied with `user_version` so older data dirs are upgraded in place. */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE profiles (
    app_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    webhook_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL,
    tts TEXT NOT NULL,
    asset_type TEXT,
    asset_group TEXT,
    connection_timeout_min INTEGER NOT NULL,
    bucket_id TEXT,
    created_at TEXT NOT NULL,
    last_seen_at TEXT
  );
  CREATE INDEX devices_app ON devices (app_id, id);
  CREATE TABLE device_properties (
    device_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (device_id, name)
  ) WITHOUT ROWID;
  CREATE TABLE device_credentials (
    device_id TEXT PRIMARY KEY,
    api_key TEXT NOT NULL,
    push_url TEXT NOT NULL,
    replace_url TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE uplink_keys (
    device_id TEXT NOT NULL,
    session_key_id TEXT NOT NULL,
    f_cnt INTEGER NOT NULL,
    PRIMARY KEY (device_id, session_key_id, f_cnt)
  ) WITHOUT ROWID;
  CREATE TABLE buckets (
    id TEXT PRIMARY KEY,
    device_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX buckets_device ON buckets (device_id);
  CREATE TABLE bucket_rows (
    bucket_id TEXT NOT NULL,
    ts INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX bucket_rows_ts ON bucket_rows (bucket_id, ts);
  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    app_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT NOT NULL,
    replayed_at TEXT
  );
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts TEXT NOT NULL,
    app_id TEXT,
    device_id TEXT,
    category TEXT NOT NULL,
    severity TEXT NOT NULL,
    title TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE INDEX events_device ON events (device_id, id);
  CREATE INDEX events_app ON events (app_id, id);
  CREATE TABLE messages (
    device_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    created_at TEXT NOT NULL,
    next_attempt_at TEXT,
    expires_at TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (device_id, message_id)
  );
  CREATE INDEX messages_device_created ON messages (device_id, created_at);
  CREATE INDEX messages_open ON messages (status, next_attempt_at);
  CREATE TABLE notifications (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    created_at TEXT NOT NULL
  );
  CREATE INDEX notifications_due ON notifications (next_attempt_at);
  `,
  // The `device` property changes with every uplink: kept in the devices row, so an uplink updates
  // one row instead of two (fewer pages written per commit).
  `
  ALTER TABLE devices ADD COLUMN state TEXT;
  UPDATE devices SET state = (SELECT value FROM device_properties p WHERE p.device_id = devices.id AND p.name = 'device');
  DELETE FROM device_properties WHERE name = 'device';
  `,
  // Dedupe moves into the devices row (see recent-uplinks.ts): the last 32 keys of each device carry over.
  `
  ALTER TABLE devices ADD COLUMN recent_uplinks TEXT;
  UPDATE devices SET recent_uplinks = (
    SELECT json_group_array(json_array(session_key_id, json(counts))) FROM (
      SELECT session_key_id, json_group_array(f_cnt ORDER BY f_cnt) AS counts, MAX(f_cnt) AS top FROM (
        SELECT session_key_id, f_cnt FROM uplink_keys WHERE device_id = devices.id ORDER BY f_cnt DESC LIMIT 32
      ) GROUP BY session_key_id ORDER BY top
    )
  ) WHERE EXISTS (SELECT 1 FROM uplink_keys WHERE device_id = devices.id);
  DROP TABLE uplink_keys;
  `,
  // Networks behind one seam: a device's TTS ids become network-neutral ids; credentials become one
  // opaque value of their network's; dead letters and messages say whose they are.
  `
  ALTER TABLE devices RENAME COLUMN tts TO ids;
  ALTER TABLE devices ADD COLUMN network TEXT NOT NULL DEFAULT 'tts';
  UPDATE devices SET ids = json_patch(
    json_object('network', 'tts', 'app_id', ids ->> '$.application_id', 'network_device_id', ids ->> '$.device_id'),
    json_object('dev_eui', ids ->> '$.dev_eui', 'join_eui', ids ->> '$.join_eui', 'dev_addr', ids ->> '$.dev_addr')
  );
  UPDATE devices SET state = json_patch(
    json_remove(state, '$.device_id', '$.application_id'),
    json_object('network', 'tts', 'app_id', state ->> '$.application_id', 'network_device_id', state ->> '$.device_id')
  ) WHERE state IS NOT NULL AND json_type(state, '$.device_id') = 'text';
  ALTER TABLE device_credentials RENAME TO tts_credentials;
  CREATE TABLE device_credentials (
    device_id TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  INSERT INTO device_credentials (device_id, value, updated_at)
    SELECT device_id, json_object('apiKey', api_key, 'pushUrl', push_url, 'replaceUrl', replace_url), updated_at FROM tts_credentials;
  DROP TABLE tts_credentials;
  ALTER TABLE dead_letters ADD COLUMN network TEXT NOT NULL DEFAULT 'tts';
  UPDATE messages SET record = json_set(json_remove(record, '$.ttsRequest'), '$.network', 'tts', '$.request', json(record -> '$.ttsRequest'))
    WHERE json_type(record, '$.network') IS NULL;
  UPDATE profiles SET settings = json_set(settings, '$.network', 'tts') WHERE json_type(settings, '$.network') IS NULL;
  `,
  // TTS normalized payloads: a bucket row keeps its measurements beside its data, and each value is
  // also a row of its quantity, so one quantity reads across every device without parsing rows.
  `
  ALTER TABLE bucket_rows ADD COLUMN normalized TEXT;
  CREATE TABLE measurements (
    quantity TEXT NOT NULL,
    ts INTEGER NOT NULL,
    app_id TEXT NOT NULL,
    device_id TEXT NOT NULL,
    value TEXT NOT NULL
  );
  CREATE INDEX measurements_quantity ON measurements (quantity, ts);
  `,
  // The formatter workflow: every saved formatter is a version (the current ones become version 1),
  // and each application's last uplinks are kept as they arrived, to run a new formatter on. The
  // ring is a rowid table: rows of a few KiB appended at its end, whichever application they are
  // of (keyed by application, they were written into a hundred places of the tree per commit).
  `
  CREATE TABLE formatter_versions (
    app_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    note TEXT,
    formatter TEXT NOT NULL,
    PRIMARY KEY (app_id, version)
  ) WITHOUT ROWID;
  INSERT INTO formatter_versions (app_id, version, created_at, note, formatter)
    SELECT app_id, 1, updated_at, NULL, json_extract(settings, '$.formatter') FROM profiles;
  CREATE TABLE recent_traffic (
    app_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    device_id TEXT NOT NULL,
    network TEXT NOT NULL,
    received_at TEXT NOT NULL,
    report TEXT NOT NULL,
    outcome TEXT NOT NULL,
    formatter_version INTEGER
  );
  CREATE UNIQUE INDEX recent_traffic_app ON recent_traffic (app_id, seq);
  `,
  // Several instances (PostgreSQL) claim due retries with a lease; the SQLite store has the same
  // column so both pass one contract (one process claims, and a restart finds no live lease).
  `
  ALTER TABLE messages ADD COLUMN lease_until TEXT;
  `,
];
