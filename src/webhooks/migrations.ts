/**
 * Schema of webhooks.db, versioned through `PRAGMA user_version` with the store's migration runner
 * (src/store/embedded/migrations.ts: the versions above the file's, in one transaction at open).
 * Never edit a shipped migration: append a new one.
 *
 * Version 1 is the schema files had before versioning (created with IF NOT EXISTS by each part), so
 * a file from then, at user_version 0, upgrades in place.
 */
import type { Migration } from '../store/embedded/migrations.js';

/** tenant_outbox.state values. */
export const OUTBOX_PENDING = 0;
export const OUTBOX_DEAD = 1;
/** tenant_outbox.format values. */
export const OUTBOX_FORMAT_SENDGATE = 0;
export const OUTBOX_FORMAT_META = 1;

export const WEBHOOKS_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE IF NOT EXISTS tenant_outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id TEXT NOT NULL UNIQUE,
        tenant_id TEXT NOT NULL,
        order_key TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL,
        state INTEGER NOT NULL DEFAULT ${OUTBOX_PENDING},
        last_error TEXT
      );
      CREATE INDEX IF NOT EXISTS tenant_outbox_pending ON tenant_outbox (tenant_id, seq) WHERE state = ${OUTBOX_PENDING};
      CREATE TABLE IF NOT EXISTS meta_seen (key TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS meta_seen_at ON meta_seen (at_ms);`,
  },
  {
    version: 2,
    sql: `
      -- A lane reads back one recipient's events it left in the outbox (its per-recipient cap).
      CREATE INDEX tenant_outbox_pending_key ON tenant_outbox (tenant_id, order_key, seq) WHERE state = ${OUTBOX_PENDING};
      -- Meta statuses that arrived before their wamid was recorded (meta/unmatched-statuses.ts).
      CREATE TABLE meta_unmatched_statuses (
        key TEXT PRIMARY KEY,            -- <wamid>:<status>
        event TEXT NOT NULL,             -- the StatusEvent as JSON
        received_at_ms INTEGER NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0,
        next_try_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX meta_unmatched_due ON meta_unmatched_statuses (next_try_at_ms);
      CREATE INDEX meta_unmatched_age ON meta_unmatched_statuses (received_at_ms);`,
  },
  {
    version: 3,
    sql: `
      -- What an entry's body is (tenant webhook format): ${OUTBOX_FORMAT_SENDGATE} sendgate's event, ${OUTBOX_FORMAT_META} Meta's envelope.
      ALTER TABLE tenant_outbox ADD COLUMN format INTEGER NOT NULL DEFAULT ${OUTBOX_FORMAT_SENDGATE};
      -- Sends answered with Meta's wamid (Prefer: wait), for tenants taking Meta's format (tenant/wamid-answers.ts).
      CREATE TABLE wamid_answers (gateway_id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, at_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX wamid_answers_at ON wamid_answers (at_ms);`,
  },
  {
    version: 4,
    sql: `
      -- Operators list a tenant's dead events (GET /admin/webhooks/dead) a page at a time.
      CREATE INDEX tenant_outbox_dead ON tenant_outbox (tenant_id, seq) WHERE state = ${OUTBOX_DEAD};`,
  },
];
