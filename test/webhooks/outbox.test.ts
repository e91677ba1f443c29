import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteOutbox } from '../../src/webhooks/outbox/sqlite.js';
import { describeOutboxConformance, entry } from './outbox-conformance.js';

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

describeOutboxConformance('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-outbox-'));
  let db = openWebhooksDb(dir);
  let outbox = new SqliteOutbox(db);
  const harness = {
    outbox,
    async reopen() {
      await outbox.close();
      db.close();
      db = openWebhooksDb(dir);
      outbox = new SqliteOutbox(db);
      return outbox;
    },
    async cleanup() {
      await outbox.close();
      if (db.open) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
});

describe('SqliteOutbox', () => {
  it('uses WAL with synchronous=FULL in webhooks.db', () => {
    const { db } = open();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2);
    expect(db.name.endsWith('webhooks.db')).toBe(true);
    db.close();
  });

  it('resolves appends after commit: another connection sees them', async () => {
    const { dir, db, outbox } = open();
    await Promise.all([0, 1, 2, 3].map((i) => outbox.append(entry(i))));
    const other = new Database(join(dir, 'webhooks.db'), { readonly: true });
    expect(other.prepare('SELECT event_id FROM tenant_outbox ORDER BY seq').pluck().all()).toEqual(['e0', 'e1', 'e2', 'e3']);
    other.close();
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
    const settled = Promise.all([outbox.settle('t1', 1, { kind: 'delivered' }), outbox.settle('t1', 2, { kind: 'delivered' })]);
    await new Promise((r) => setTimeout(r, 30));
    expect(count()).toBe(3);
    await outbox.append(entry(3));
    await settled;
    expect(count()).toBe(2);
    reader.close();
    db.close();
  });

  it('rejects a write refused on its own, alone: the rest of its batch commits (the store\'s group commit)', async () => {
    const { db, outbox } = open();
    await outbox.append(entry(1));
    const results = Promise.allSettled([outbox.append(entry(2)), outbox.settle('t1', 1, { kind: 'delivered' }), outbox.append(entry(3))]);
    // One write of the batch is refused (a constraint): it alone fails, and its caller hears it.
    db.exec('CREATE TRIGGER refuse_e3 BEFORE INSERT ON tenant_outbox WHEN NEW.event_id = \'e3\' BEGIN SELECT RAISE(ABORT, \'refused\'); END');
    expect((await results).map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect((await outbox.pending('t1', 0, 10)).map((e) => e.eventId)).toEqual(['e2']);
    db.close();
  });
});
