/**
 * What only the embedded store promises beyond the conformance suite: its SQLite settings, schema
 * versioning, group commit, failure handling and the idempotency purge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { GatewayError } from '../../src/errors.js';
import { DB_FILE, openDatabase } from '../../src/store/embedded/database.js';
import { EmbeddedStore, IDEMPOTENCY_MAX_MS } from '../../src/store/embedded/embedded-store.js';
import { MIGRATIONS, SCHEMA_VERSION, migrate } from '../../src/store/embedded/migrations.js';
import { openStore } from '../../src/store/index.js';
import { message } from './conformance.js';

let dir: string;
let clock: ManualClock;
const toClose: Array<{ close(): unknown }> = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sendgate-store-'));
  clock = new ManualClock();
});

afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(options: Partial<ConstructorParameters<typeof EmbeddedStore>[0]> = {}): EmbeddedStore {
  const store = new EmbeddedStore({ path: dir, clock, ...options });
  toClose.push(store);
  return store;
}

/** A second, independent connection to the same file, as another process would have. */
function sideConnection(): Database.Database {
  const db = new Database(join(dir, DB_FILE));
  toClose.push(db);
  return db;
}

describe('SQLite settings', () => {
  it('opens in WAL mode with synchronous=FULL, in a directory it creates', () => {
    const nested = join(dir, 'a', 'b');
    const db = openDatabase(nested, { busyTimeoutMs: 100, exclusive: true });
    toClose.push(db);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // 2 = FULL
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
  });
});

describe('one process per directory', () => {
  it('refuses a second store on the same directory while the first is open, with a clear error', async () => {
    const first = open();
    await first.enqueue(message());
    expect(() => open({ busyTimeoutMs: 10 })).toThrow(/in use by another process/);
    await first.close();
    const second = open();
    expect(await second.unfinished()).toHaveLength(1);
  });
});

describe('migrations', () => {
  it('applies pending migrations once and reopens without reapplying', () => {
    const db = openDatabase(dir, { busyTimeoutMs: 100, exclusive: false });
    toClose.push(db);
    expect(migrate(db)).toBe(SCHEMA_VERSION);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['control_state', 'idempotency', 'messages', 'owed_endings', 'store_meta']);
    const indexes = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name").pluck().all();
    expect(indexes).toEqual([
      'idempotency_age', 'messages_ended', 'messages_ended_number', 'messages_ended_tenant', 'messages_final_age', 'messages_lane', 'messages_wamid',
    ]);
  });

  it('upgrades a database of an earlier version step by step', () => {
    const db = openDatabase(dir, { busyTimeoutMs: 100, exclusive: false });
    toClose.push(db);
    // Back to version 1's schema: what migrations 2 to 6 add removed, what 4 drops put back.
    db.exec(`DROP TABLE owed_endings; DROP INDEX messages_final_age; DROP TABLE control_state; DROP INDEX messages_lane;
      DROP INDEX messages_ended; DROP INDEX messages_ended_tenant; DROP INDEX messages_ended_number;
      CREATE INDEX messages_unfinished ON messages (created_at_ms, seq) WHERE state IN ('queued', 'sending');
      ALTER TABLE messages DROP COLUMN throttled`);
    db.pragma('user_version = 1');
    expect(migrate(db)).toBe(1);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('messages_final_age', 'control_state', 'messages_lane', 'owed_endings', 'messages_ended')").pluck().get()).toBe(5);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'messages_unfinished'").pluck().get()).toBe(0);
    expect(db.prepare("SELECT count(*) FROM pragma_table_info('messages') WHERE name = 'throttled'").pluck().get()).toBe(1);
  });

  it('rolls a failing migration back entirely and keeps the previous version', () => {
    const db = openDatabase(dir, { busyTimeoutMs: 100, exclusive: false });
    toClose.push(db);
    const broken = [...MIGRATIONS, { version: SCHEMA_VERSION + 1, sql: 'CREATE TABLE extra (x); THIS IS NOT SQL;' }];
    expect(() => migrate(db, broken)).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'extra'").pluck().get()).toBe(0);
  });

  it('refuses a database written by a newer schema', () => {
    const db = openDatabase(dir, { busyTimeoutMs: 100, exclusive: false });
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect(() => open()).toThrow(/newer than this build supports/);
  });
});

describe('group commit', () => {
  it('commits writes issued in the same tick in one transaction', async () => {
    const store = open();
    const before = store.commits;
    const batch = Array.from({ length: 100 }, () => message());
    const outcomes = await Promise.all(batch.map((m) => store.enqueue(m)));
    expect(outcomes.every((o) => o.kind === 'created')).toBe(true);
    expect(store.commits - before).toBe(1);
  });

  it('mixes enqueues and transitions in one batch, in issue order', async () => {
    const store = open();
    const m = message();
    const before = store.commits;
    const [created, sending] = await Promise.all([
      store.enqueue(m),
      store.transition(m.id, { state: 'sending', attempts: 1, atMs: m.createdAtMs + 1 }),
    ]);
    expect(created.kind).toBe('created');
    expect(sending).toBe(true);
    expect(store.commits - before).toBe(1);
  });

  it('splits at maxBatch; maxBatch 1 commits every write alone', async () => {
    const store = open({ maxBatch: 1 });
    const before = store.commits;
    await Promise.all(Array.from({ length: 20 }, () => store.enqueue(message())));
    expect(store.commits - before).toBe(20);
  });

  it('rejects only the write that breaks a constraint, the rest of its batch commits', async () => {
    const store = open();
    const m = message();
    const other = message();
    const results = await Promise.allSettled([store.enqueue(m), store.enqueue({ ...m }), store.enqueue(other)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(store.healthy()).toBe(true);
    expect((await store.get(other.tenantId, other.id))?.id).toBe(other.id);
  });
});

describe('commit failure', () => {
  it('rejects the whole batch with STORAGE_UNAVAILABLE, turns unhealthy, recovers on a later commit', async () => {
    const store = open({ busyTimeoutMs: 20, probeEveryMs: 60_000, exclusive: false });
    const side = sideConnection();
    side.exec('BEGIN IMMEDIATE'); // holds the write lock: the store's next commit cannot happen
    const lost = [message(), message(), message()];
    const results = await Promise.allSettled(lost.map((m) => store.enqueue(m)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason as GatewayError;
      expect(reason).toBeInstanceOf(GatewayError);
      expect(reason.code).toBe('STORAGE_UNAVAILABLE');
      expect(reason.details).not.toMatch(/SQLITE|database/i);
    }
    expect(store.healthy()).toBe(false);
    side.exec('COMMIT');
    expect((await store.enqueue(message())).kind).toBe('created');
    expect(store.healthy()).toBe(true);
    for (const m of lost) expect(await store.get(m.tenantId, m.id)).toBeNull();
  });

  it('a probe write brings health back without traffic', async () => {
    const store = open({ busyTimeoutMs: 10, probeEveryMs: 20, exclusive: false });
    const side = sideConnection();
    side.exec('BEGIN IMMEDIATE');
    await expect(store.enqueue(message())).rejects.toThrow(/STORAGE_UNAVAILABLE/);
    expect(store.healthy()).toBe(false);
    side.exec('COMMIT');
    const deadline = Date.now() + 2_000;
    while (!store.healthy() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(store.healthy()).toBe(true);
  });

  it('rejects every call after close and reports unhealthy', async () => {
    const store = open();
    await store.close();
    expect(store.healthy()).toBe(false);
    await expect(store.enqueue(message())).rejects.toThrow(/STORAGE_UNAVAILABLE/);
    await expect(store.get('acme', 'x')).rejects.toThrow(/closed/);
  });
});

describe('idempotency retention', () => {
  it('ignores a key older than 48 h even before it is purged', async () => {
    const store = open();
    await store.enqueue(message({ idempotencyKey: 'old', bodyHash: 'a' }));
    clock.advance(IDEMPOTENCY_MAX_MS + 1);
    expect((await store.enqueue(message({ idempotencyKey: 'old', bodyHash: 'b' }))).kind).toBe('created');
  });

  it('purges keys older than 48 h at open and keeps younger ones', async () => {
    const store = open();
    await store.enqueue(message({ idempotencyKey: 'old', bodyHash: 'a' }));
    clock.advance(IDEMPOTENCY_MAX_MS / 2);
    await store.enqueue(message({ idempotencyKey: 'young', bodyHash: 'a' }));
    await store.close();
    clock.advance(IDEMPOTENCY_MAX_MS / 2 + 1);
    open({ exclusive: false });
    const keys = sideConnection().prepare('SELECT key FROM idempotency').pluck().all();
    expect(keys).toEqual(['young']);
  });

  it('purges in chunks, one per turn of the event loop, until none is left', async () => {
    const store = open();
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.enqueue(message({ idempotencyKey: `k${i}`, bodyHash: 'h' }))));
    await store.close();
    clock.advance(IDEMPOTENCY_MAX_MS + 1);
    open({ purgeChunkRows: 3, exclusive: false });
    const count = sideConnection().prepare('SELECT count(*) FROM idempotency').pluck();
    expect(count.get()).toBe(7); // the chunk at open
    for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
    expect(count.get()).toBe(0);
  });
});

describe('retention of final records', () => {
  it('deletes final records older than the retention and keeps unfinished ones of any age', async () => {
    const DAY_MS = 86_400_000;
    const store = open({ finalRetentionMs: 30 * DAY_MS });
    const [old, recent, waiting] = [message(), message(), message()];
    await Promise.all([old, recent, waiting].map((m) => store.enqueue(m)));
    await store.transition(old.id, { state: 'sent', wamid: 'wamid.old', atMs: clock.nowMs() });
    await store.transition(recent.id, { state: 'failed', lastError: { code: 1, title: 't', details: '', httpStatus: 400 }, atMs: clock.nowMs() + 2 * DAY_MS });
    await store.close();
    clock.advance(31 * DAY_MS);
    const reopened = open({ finalRetentionMs: 30 * DAY_MS });
    expect(await reopened.get(old.tenantId, old.id)).toBeNull();
    expect(await reopened.findByWamid('wamid.old')).toBeNull();
    expect((await reopened.get(recent.tenantId, recent.id))?.state).toBe('failed');
    expect((await reopened.unfinished()).map((r) => r.id)).toEqual([waiting.id]);
  });
});

describe('openStore', () => {
  it('opens the embedded store under storage.path, creating it', async () => {
    const store = await openStore({ kind: 'embedded', path: join(dir, 'nested', 'data') }, clock);
    toClose.push(store);
    expect(store.kind).toBe('embedded');
    expect((await store.enqueue(message())).kind).toBe('created');
  });
  // storage.kind "redis": test/store/redis-faults.test.ts (opens it, and refuses a Redis that would lose writes).
});
