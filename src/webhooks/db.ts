/**
 * The webhooks' own SQLite file, `<storage.path>/webhooks.db`, apart from the message store so
 * webhook traffic (3 statuses per send, plus inbound) never contends with the send queue's commits.
 * WAL + synchronous=FULL: a resolved outbox append survives power loss, not just a process crash.
 * Its schema is versioned (migrations.ts) and brought up to date here, at open.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../store/embedded/migrations.js';
import { WEBHOOKS_MIGRATIONS } from './migrations.js';

export type WebhooksDb = Database.Database;

export function openWebhooksDb(storageDir: string): WebhooksDb {
  mkdirSync(storageDir, { recursive: true });
  const db = new Database(join(storageDir, 'webhooks.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  // Another process holding the write lock (a second gateway on the same dir by mistake) waits, then fails loudly.
  db.pragma('busy_timeout = 5000');
  try {
    migrate(db, WEBHOOKS_MIGRATIONS);
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
