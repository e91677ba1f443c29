/**
 * webhooks.db schema versions: a file written before versioning (tables made by each part, at
 * user_version 0) upgrades in place and keeps its rows; a fresh file gets the latest version.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { WEBHOOKS_MIGRATIONS } from '../../src/webhooks/migrations.js';

const root = mkdtempSync(join(tmpdir(), 'sendgate-wh-migrations-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const latest = WEBHOOKS_MIGRATIONS[WEBHOOKS_MIGRATIONS.length - 1]!.version;

describe('webhooks.db migrations', () => {
  it('upgrades a pre-versioning file in place, keeping its outbox and marks', () => {
    const dir = join(root, 'old');
    mkdirSync(dir);
    const old = new Database(join(dir, 'webhooks.db'));
    old.exec(`CREATE TABLE tenant_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, tenant_id TEXT NOT NULL,
        order_key TEXT NOT NULL, body TEXT NOT NULL, created_at_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at_ms INTEGER NOT NULL, state INTEGER NOT NULL DEFAULT 0, last_error TEXT);
      CREATE INDEX tenant_outbox_pending ON tenant_outbox (tenant_id, seq) WHERE state = 0;
      CREATE TABLE meta_seen (key TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX meta_seen_at ON meta_seen (at_ms);
      INSERT INTO tenant_outbox (event_id, tenant_id, order_key, body, created_at_ms, next_attempt_at_ms) VALUES ('e1', 't', 'k', '{}', 1, 1);
      INSERT INTO meta_seen VALUES ('s:w:delivered', 1);`);
    old.close();
    const db = openWebhooksDb(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    expect(db.prepare('SELECT event_id FROM tenant_outbox').pluck().all()).toEqual(['e1']);
    expect(db.prepare('SELECT count(*) FROM meta_seen').pluck().get()).toBe(1);
    expect(db.prepare('SELECT count(*) FROM meta_unmatched_statuses').pluck().get()).toBe(0);
    db.close();
  });

  it('creates the latest schema in a new file, and opens it again unchanged', () => {
    const dir = join(root, 'new');
    openWebhooksDb(dir).close();
    const db = openWebhooksDb(dir);
    expect(db.pragma('user_version', { simple: true })).toBe(latest);
    db.close();
  });
});
