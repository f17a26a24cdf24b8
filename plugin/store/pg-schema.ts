/**
 * PostgreSQL schema, one transaction per version, recorded in `schema_migrations` (see pg-migrate.ts).
 *
 * As in SQLite, times are ISO TEXT and JSON is TEXT (jsonb would reorder keys: data must come back
 * byte for byte). Text that is compared or ordered is COLLATE "C": byte order, as SQLite's BINARY,
 * whatever locale the database was created with. Tables SQLite orders by rowid get an identity
 * column `seq` for the same tie-breaks.
 */
export const PG_MIGRATIONS: string[] = [
  `
  CREATE TABLE profiles (
    app_id TEXT COLLATE "C" PRIMARY KEY,
    settings TEXT NOT NULL,
    webhook_token TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    updated_at TEXT COLLATE "C" NOT NULL
  );
  CREATE TABLE formatter_versions (
    app_id TEXT COLLATE "C" NOT NULL,
    version INTEGER NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    note TEXT,
    formatter TEXT NOT NULL,
    PRIMARY KEY (app_id, version)
  );
  CREATE TABLE devices (
    id TEXT COLLATE "C" PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL,
    network TEXT COLLATE "C" NOT NULL,
    ids TEXT COLLATE "C" NOT NULL,
    asset_type TEXT,
    asset_group TEXT,
    connection_timeout_min INTEGER NOT NULL,
    bucket_id TEXT COLLATE "C",
    created_at TEXT COLLATE "C" NOT NULL,
    last_seen_at TEXT COLLATE "C",
    state TEXT,
    recent_uplinks TEXT
  );
  CREATE INDEX devices_app ON devices (app_id, id);
  CREATE TABLE device_properties (
    device_id TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (device_id, name)
  );
  CREATE TABLE device_credentials (
    device_id TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  CREATE TABLE buckets (
    id TEXT COLLATE "C" PRIMARY KEY,
    device_id TEXT COLLATE "C" NOT NULL,
    app_id TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX buckets_device ON buckets (device_id);
  CREATE INDEX buckets_app ON buckets (app_id);
  CREATE TABLE bucket_rows (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    bucket_id TEXT COLLATE "C" NOT NULL,
    ts BIGINT NOT NULL,
    data TEXT NOT NULL,
    normalized TEXT
  );
  CREATE INDEX bucket_rows_ts ON bucket_rows (bucket_id, ts, seq);
  CREATE TABLE measurements (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quantity TEXT COLLATE "C" NOT NULL,
    ts BIGINT NOT NULL,
    app_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    value TEXT NOT NULL
  );
  CREATE INDEX measurements_quantity ON measurements (quantity, ts, seq);
  CREATE TABLE dead_letters (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    reason TEXT NOT NULL,
    error TEXT NOT NULL,
    network TEXT COLLATE "C" NOT NULL,
    body TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    replayed_at TEXT COLLATE "C"
  );
  CREATE INDEX dead_letters_app ON dead_letters (app_id, id);
  CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts TEXT COLLATE "C" NOT NULL,
    app_id TEXT COLLATE "C",
    device_id TEXT COLLATE "C",
    category TEXT COLLATE "C" NOT NULL,
    severity TEXT COLLATE "C" NOT NULL,
    title TEXT NOT NULL,
    details TEXT NOT NULL
  );
  CREATE INDEX events_device ON events (device_id, id);
  CREATE INDEX events_app ON events (app_id, id);
  CREATE TABLE messages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    device_id TEXT COLLATE "C" NOT NULL,
    message_id TEXT COLLATE "C" NOT NULL,
    app_id TEXT COLLATE "C" NOT NULL,
    correlation_id TEXT COLLATE "C" NOT NULL UNIQUE,
    status TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    next_attempt_at TEXT COLLATE "C",
    expires_at TEXT COLLATE "C" NOT NULL,
    lease_until TEXT COLLATE "C",
    record TEXT NOT NULL,
    PRIMARY KEY (device_id, message_id)
  );
  CREATE INDEX messages_device_created ON messages (device_id, created_at, seq);
  CREATE INDEX messages_open ON messages (status, next_attempt_at);
  -- what claimDueMessages walks, oldest first
  CREATE INDEX messages_pending ON messages (created_at, seq) WHERE status = 'PENDING';
  CREATE TABLE notifications (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL
  );
  CREATE INDEX notifications_due ON notifications (next_attempt_at);
  -- seq orders the ring across instances (a per-application counter would need a lock per application)
  CREATE TABLE recent_traffic (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id TEXT COLLATE "C" NOT NULL,
    device_id TEXT COLLATE "C" NOT NULL,
    network TEXT COLLATE "C" NOT NULL,
    received_at TEXT COLLATE "C" NOT NULL,
    report TEXT NOT NULL,
    outcome TEXT NOT NULL,
    formatter_version INTEGER
  );
  CREATE INDEX recent_traffic_app ON recent_traffic (app_id, seq);
  `,
];
