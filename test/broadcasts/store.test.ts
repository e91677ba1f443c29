/**
 * The SQLite BroadcastStore: the store contract (store-conformance.ts), and what only a file has:
 * a create cut by a crash (its `creating` row and some recipients) is dropped at the next open.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { BROADCAST_DB_FILE, SqliteBroadcastStore } from '../../src/broadcasts/sqlite-store.js';
import { describeBroadcastStoreConformance } from './store-conformance.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-broadcast-store-'));
  dirs.push(dir);
  return dir;
}

describeBroadcastStoreConformance('sqlite', () => ({ open: async () => new SqliteBroadcastStore(tempDir()) }));

describe('SqliteBroadcastStore', () => {
  it('drops a create cut by a crash at the next open', async () => {
    const dir = tempDir();
    await new SqliteBroadcastStore(dir).close();
    // What a kill -9 between the commits leaves: the `creating` row and some of its recipients.
    const db = new Database(join(dir, BROADCAST_DB_FILE));
    db.prepare(`INSERT INTO broadcasts (id, tenant_id, phone_number_id, message, category, state, plan, total, counts, created_at_ms, not_before_ms, deadline_at_ms)
      VALUES ('bc_k', 'acme', '1001', '{}', 'marketing', 'creating', '{}', 5, '{}', 1, 1, 2)`).run();
    db.prepare("INSERT INTO broadcast_recipients (broadcast_id, idx, to_digits, to_input) VALUES ('bc_k', 0, '1', '+1')").run();
    db.close();
    const reopened = new SqliteBroadcastStore(dir);
    expect(await reopened.dropCreating()).toBe(1);
    expect(await reopened.get('acme', 'bc_k')).toBeNull();
    expect(await reopened.page('acme', 'bc_k', 0, 10)).toEqual([]);
    await reopened.close();
  });
});
