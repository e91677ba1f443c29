import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteOutbox } from '../../src/webhooks/outbox/sqlite.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function open() {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-outbox-'));
  dirs.push(dir);
  const db = openWebhooksDb(dir);
  return { dir, db, outbox: new SqliteOutbox(db) };
}

const entry = (i: number, tenantId = 't1') => ({ eventId: `e${i}`, tenantId, orderKey: `k${i % 2}`, body: `{"n":${i}}`, createdAtMs: 1000 + i });

describe('SqliteOutbox', () => {
  it('uses WAL with synchronous=FULL in webhooks.db', () => {
    const { db } = open();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.name.endsWith('webhooks.db')).toBe(true);
    db.close();
  });

  it('resolves appends after commit: another connection sees them, with increasing seq', async () => {
    const { dir, db, outbox } = open();
    const appended = await Promise.all([0, 1, 2, 3].map((i) => outbox.append(entry(i))));
    expect(appended.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const other = new Database(join(dir, 'webhooks.db'), { readonly: true });
    expect(other.prepare('SELECT event_id FROM tenant_outbox ORDER BY seq').pluck().all()).toEqual(['e0', 'e1', 'e2', 'e3']);
    other.close();
    db.close();
  });

  it('pages pending entries per tenant, and settles them', async () => {
    const { db, outbox } = open();
    for (let i = 0; i < 5; i++) await outbox.append(entry(i, i === 2 ? 't2' : 't1'));
    const page1 = await outbox.pending('t1', 0, 2);
    expect(page1.map((e) => e.eventId)).toEqual(['e0', 'e1']);
    expect(page1[0]).toEqual({ seq: 1, eventId: 'e0', tenantId: 't1', orderKey: 'k0', body: '{"n":0}', createdAtMs: 1000, attempts: 0, nextAttemptAtMs: 1000 });
    expect((await outbox.pending('t1', page1[1]!.seq, 10)).map((e) => e.eventId)).toEqual(['e3', 'e4']);
    expect(await outbox.summary()).toEqual({ tenants: ['t1', 't2'], pending: 5 });
    await outbox.settle(1, { kind: 'delivered' });
    await outbox.settle(2, { kind: 'retry', attempts: 1, nextAttemptAtMs: 9999, lastError: 'HTTP 500' });
    await outbox.settle(4, { kind: 'dead', attempts: 7, lastError: 'network: ECONNREFUSED' });
    const left = await outbox.pending('t1', 0, 10);
    expect(left.map((e) => [e.eventId, e.attempts, e.nextAttemptAtMs])).toEqual([['e1', 1, 9999], ['e4', 0, 1004]]);
    expect(await outbox.summary()).toEqual({ tenants: ['t1', 't2'], pending: 3 });
    await outbox.close();
    await expect(outbox.append(entry(9))).rejects.toThrow(/closed/);
    db.close();
  });

  it('commits settles in batches, within settleFlushMs or with the next append', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-outbox-'));
    dirs.push(dir);
    const db = openWebhooksDb(dir);
    const outbox = new SqliteOutbox(db, { settleFlushMs: 10_000 });
    for (let i = 0; i < 3; i++) await outbox.append(entry(i));
    const reader = new Database(join(dir, 'webhooks.db'), { readonly: true });
    const count = () => reader.prepare('SELECT COUNT(*) FROM tenant_outbox').pluck().get();
    const settled = Promise.all([outbox.settle(1, { kind: 'delivered' }), outbox.settle(2, { kind: 'delivered' })]);
    await new Promise((r) => setTimeout(r, 30));
    expect(count()).toBe(3);
    await outbox.append(entry(3));
    await settled;
    expect(count()).toBe(2);
    reader.close();
    db.close();
  });

  it('rejects every write of a batch that could not commit', async () => {
    const { db, outbox } = open();
    await outbox.append(entry(1));
    const results = await Promise.allSettled([outbox.append(entry(2)), outbox.append(entry(1))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((await outbox.summary()).pending).toBe(1);
    db.close();
  });
});
