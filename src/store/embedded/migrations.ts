/**
 * Schema of the embedded store, versioned through `PRAGMA user_version`. Migrations are an ordered
 * list; `migrate` applies the ones above the file's version in one transaction at open, so a crash
 * mid-upgrade leaves the previous schema intact. Never edit a shipped migration: append a new one.
 */
import type Database from 'better-sqlite3';

export interface Migration {
  /** The `user_version` the database has after this migration. */
  readonly version: number;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      -- seq (the rowid) breaks createdAtMs ties so recovery replays in insertion order.
      CREATE TABLE messages (
        seq             INTEGER PRIMARY KEY,
        id              TEXT    NOT NULL UNIQUE,
        tenant_id       TEXT    NOT NULL,
        phone_number_id TEXT    NOT NULL,
        to_digits       TEXT    NOT NULL,
        to_input        TEXT    NOT NULL,
        body            TEXT    NOT NULL,
        priority        INTEGER NOT NULL,
        created_at_ms   INTEGER NOT NULL,
        deadline_at_ms  INTEGER NOT NULL,
        idempotency_key TEXT,
        body_hash       TEXT,
        state           TEXT    NOT NULL,
        attempts        INTEGER NOT NULL,
        not_before_ms   INTEGER NOT NULL,
        wamid           TEXT,
        last_error      TEXT,   -- RecordedError as JSON
        updated_at_ms   INTEGER NOT NULL,
        sent_at_ms      INTEGER,
        delivered_at_ms INTEGER,
        read_at_ms      INTEGER
      );
      -- Partial index: recovery scans only unfinished rows, however many final rows accumulate.
      CREATE INDEX messages_unfinished ON messages (created_at_ms, seq) WHERE state IN ('queued', 'sending');
      CREATE INDEX messages_wamid ON messages (wamid) WHERE wamid IS NOT NULL;

      CREATE TABLE idempotency (
        tenant_id     TEXT    NOT NULL,
        key           TEXT    NOT NULL,
        message_id    TEXT    NOT NULL,
        body_hash     TEXT,
        created_at_ms INTEGER NOT NULL,
        PRIMARY KEY (tenant_id, key)
      ) WITHOUT ROWID;
      CREATE INDEX idempotency_age ON idempotency (created_at_ms);

      -- Small facts about the store itself; the health probe writes here.
      CREATE TABLE store_meta (
        key   TEXT PRIMARY KEY,
        value
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    sql: `
      -- Retention: finds final records by age without scanning the unfinished ones.
      CREATE INDEX messages_final_age ON messages (updated_at_ms) WHERE state NOT IN ('queued', 'sending');
    `,
  },
  {
    version: 3,
    sql: `
      -- Control state that steers a number or tenant (pauses, limit overrides, learned ceilings):
      -- a JSON value per key, reloaded before the first departure after a restart.
      CREATE TABLE control_state (
        key           TEXT    PRIMARY KEY,
        value         TEXT    NOT NULL,
        updated_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 4,
    sql: `
      -- The store is the queue: a lane pages its number's waiting messages in service order
      -- (priority, then due time, then arrival), and boot counts them per number, both from this
      -- partial index alone. It replaces messages_unfinished, which only a full recovery scan read.
      CREATE INDEX messages_lane ON messages (phone_number_id, priority, not_before_ms, seq) WHERE state IN ('queued', 'sending');
      DROP INDEX messages_unfinished;
    `,
  },
  {
    version: 5,
    sql: `
      -- Attempts answered with a throttling code, kept so they never count against maxAttempts
      -- after a restart (they are part of attempts).
      ALTER TABLE messages ADD COLUMN throttled INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 6,
    sql: `
      -- A message that ended unsent (failed, expired, rejected) owes its tenant an event: noted in
      -- the commit of the final state, removed once the event is in the webhook outbox. What a
      -- crash leaves here is settled at the next boot (src/gateway/message-ended.ts).
      CREATE TABLE owed_endings (
        id        TEXT    PRIMARY KEY,
        tenant_id TEXT    NOT NULL,
        at_ms     INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 7,
    sql: `
      -- Messages that ended unsent, listed newest first by an operator (src/store/ended.ts), over
      -- all tenants, one tenant or one number. Partial: only failed and expired rows are indexed.
      CREATE INDEX messages_ended ON messages (state, updated_at_ms, seq) WHERE state IN ('failed', 'expired');
      CREATE INDEX messages_ended_tenant ON messages (tenant_id, state, updated_at_ms, seq) WHERE state IN ('failed', 'expired');
      CREATE INDEX messages_ended_number ON messages (phone_number_id, state, updated_at_ms, seq) WHERE state IN ('failed', 'expired');
    `,
  },
];

/** Highest schema version this build knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/** Brings the database to the last version of `migrations`; returns the version it found. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number {
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > latest) {
    throw new Error(`embedded store: database schema version ${found} is newer than this build supports (${latest})`);
  }
  if (found === latest) return found;
  db.transaction(() => {
    for (const migration of migrations) {
      if (migration.version <= found) continue;
      db.exec(migration.sql);
      // user_version is stored in the database header, inside this transaction's pages.
      db.pragma(`user_version = ${migration.version}`);
    }
  }).immediate();
  return found;
}
