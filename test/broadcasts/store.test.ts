/**
 * BroadcastStore on a real SQLite file: a create is invisible until its last commit, an unfinished
 * one is dropped at boot, a message's end moves its recipient once, and retention removes ended
 * broadcasts with their recipients.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { BROADCAST_DB_FILE, BroadcastStore, emptyCounts } from '../../src/broadcasts/store.js';
import type { BroadcastRecord, StoredRecipient } from '../../src/broadcasts/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function open(): { store: BroadcastStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-broadcast-store-'));
  dirs.push(dir);
  return { store: new BroadcastStore(dir), dir };
}

const record = (id: string, total: number, key: string | null = null): BroadcastRecord => ({
  id, tenantId: 'acme', phoneNumberId: '1001', idempotencyKey: key, bodyHash: key === null ? null : 'h', message: '{}', category: 'marketing',
  state: 'running', plan: {} as BroadcastRecord['plan'], total, cursor: 0, counts: { ...emptyCounts(), pending: total }, waitingForLimit: false,
  createdAtMs: 1, notBeforeMs: 1, deadlineAtMs: 10_000_000, endedAtMs: null,
});

function* recipients(n: number): Generator<StoredRecipient> {
  for (let i = 0; i < n; i++) yield { idx: i, to: `1415555${String(i).padStart(4, '0')}`, toInput: `+1415555${String(i).padStart(4, '0')}`, components: null };
}

describe('BroadcastStore', () => {
  it('stores a large broadcast in several commits, visible only once complete; a repeat key finds it', async () => {
    const { store } = open();
    const creating = store.create(record('bc_a', 45_000, 'k1'), recipients(45_000));
    // Between its commits the row exists as `creating`: not active, not resumed.
    await new Promise((r) => setImmediate(r));
    expect(store.active()).toEqual([]);
    expect(store.byKey('acme', 'k1')?.state).toBe('creating');
    await creating;
    expect(store.active().map((b) => b.id)).toEqual(['bc_a']);
    expect(store.page('bc_a', 44_998, 10).map((r) => r.idx)).toEqual([44_998, 44_999]);
    const again = await store.create(record('bc_b', 1, 'k1'), recipients(1));
    expect(again.id).toBe('bc_a');
    store.close();
  });

  it('a create that fails half-way leaves nothing; one cut by a crash is dropped at the next open', async () => {
    const { store, dir } = open();
    function* failing(): Generator<StoredRecipient> {
      yield* recipients(30_000);
      throw new Error('bad row');
    }
    await expect(store.create(record('bc_c', 40_000), failing())).rejects.toThrow('bad row');
    expect(store.get('acme', 'bc_c')).toBeNull();
    expect(store.page('bc_c', 0, 10)).toEqual([]);
    store.close();
    // What a kill -9 between the commits leaves: the `creating` row and some of its recipients.
    const db = new Database(join(dir, BROADCAST_DB_FILE));
    db.prepare(`INSERT INTO broadcasts (id, tenant_id, phone_number_id, message, category, state, plan, total, counts, created_at_ms, not_before_ms, deadline_at_ms)
      VALUES ('bc_k', 'acme', '1001', '{}', 'marketing', 'creating', '{}', 5, '{}', 1, 1, 2)`).run();
    db.prepare("INSERT INTO broadcast_recipients (broadcast_id, idx, to_digits, to_input) VALUES ('bc_k', 0, '1', '+1')").run();
    db.close();
    const reopened = new BroadcastStore(dir);
    expect(reopened.dropCreating()).toBe(1);
    expect(reopened.get('acme', 'bc_k')).toBeNull();
    expect(reopened.page('bc_k', 0, 10)).toEqual([]);
    reopened.close();
  });

  it('moves a recipient once per message end, and retention removes ended broadcasts', async () => {
    const { store } = open();
    const r = await store.create(record('bc_d', 3), recipients(3));
    store.commitChunk({ broadcastId: 'bc_d', cursor: 3, queued: [{ idx: 0, messageId: 'sg_0' }, { idx: 1, messageId: 'sg_1' }], rejected: [2] }, r.counts, false);
    expect(r.counts).toMatchObject({ pending: 0, queued: 2, rejected: 1 });
    const counts = (id: string) => (id === 'bc_d' ? r.counts : undefined);
    store.endMessages([{ messageId: 'sg_0', status: 'sent' }, { messageId: 'sg_0', status: 'sent' }, { messageId: 'sg_other', status: 'sent' }], counts);
    expect(r.counts).toMatchObject({ queued: 1, sent: 1 });
    store.endMessages([{ messageId: 'sg_1', status: 'failed' }], counts);
    store.end('bc_d', 'completed', 1000, r.counts, null);
    expect(store.get('acme', 'bc_d')?.counts).toMatchObject({ queued: 0, sent: 1, failed: 1, rejected: 1 });
    expect(await store.purgeEnded(500)).toBe(0);
    expect(await store.purgeEnded(2000)).toBe(1);
    expect(store.get('acme', 'bc_d')).toBeNull();
    expect(store.page('bc_d', 0, 10)).toEqual([]);
    store.close();
  });
});
