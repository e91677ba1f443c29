/**
 * The webhooks' own SQLite file, `<storage.path>/webhooks.db`, apart from the message store so
 * webhook traffic (3 statuses per send, plus inbound) never contends with the send queue's commits.
 * WAL + synchronous=FULL: a resolved outbox append survives power loss, not just a process crash.
 * Its schema is versioned (migrations.ts) and brought up to date here, at open.
 */
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { openSqliteFile } from '../store/sqlite-file.js';
import { WEBHOOKS_MIGRATIONS } from './migrations.js';

export type WebhooksDb = Database.Database;

export function openWebhooksDb(storageDir: string): WebhooksDb {
  // Another process holding the write lock (a second gateway on the same dir by mistake) waits 5 s, then fails loudly.
  return openSqliteFile(join(storageDir, 'webhooks.db'), { migrations: WEBHOOKS_MIGRATIONS });
}
