/**
 * The embedded BroadcastStore (store.ts): durable broadcast state in its own SQLite file
 * `<storage.path>/broadcasts.db` (WAL, synchronous=FULL: a resolved write survives kill -9), so a
 * broadcast's recipient list never contends with the send queue's commits. Writes are whole chunks in one transaction (a plan's
 * recipients, an admitted chunk), so the fsyncs are few.
 *
 * What links it to the message store: each admitted recipient's message is enqueued with the
 * idempotency key `broadcast <id> <idx>` (a space: no client key can take it) before the chunk's
 * cursor is committed here, so a crash between the two re-admits the chunk as duplicates: nothing
 * is stored or sent twice.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Migration } from '../store/embedded/migrations.js';
import { openSqliteFile } from '../store/sqlite-file.js';
import {
  batchesOf, emptyCounts, type AdmittedChunk, type BroadcastListQuery, type BroadcastStore, type MessageEnd, type QueuedRecipient, type Rows,
  type UploadRow,
} from './store.js';
import { RecipientStatus, type BroadcastPlan, type BroadcastRecord, type BroadcastState, type RecipientStatusName, type StoredRecipient } from './types.js';

export const BROADCAST_DB_FILE = 'broadcasts.db';
/** Recipients written per commit while a broadcast is created (a few ms each). */
const RECIPIENTS_PER_COMMIT = 20_000;

const MIGRATIONS: readonly Migration[] = [{
  version: 1,
  sql: `
    CREATE TABLE broadcasts (
      id              TEXT PRIMARY KEY,
      tenant_id       TEXT NOT NULL,
      phone_number_id TEXT NOT NULL,
      idempotency_key TEXT,
      body_hash       TEXT,
      message         TEXT NOT NULL,
      category        TEXT NOT NULL,
      state           TEXT NOT NULL,
      plan            TEXT NOT NULL,
      total           INTEGER NOT NULL,
      cursor          INTEGER NOT NULL DEFAULT 0,
      counts          TEXT NOT NULL,
      waiting         INTEGER NOT NULL DEFAULT 0,
      created_at_ms   INTEGER NOT NULL,
      not_before_ms   INTEGER NOT NULL,
      deadline_at_ms  INTEGER NOT NULL,
      ended_at_ms     INTEGER
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX broadcasts_key ON broadcasts (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
    CREATE INDEX broadcasts_active ON broadcasts (state) WHERE state IN ('scheduled', 'running');

    CREATE TABLE broadcast_recipients (
      broadcast_id TEXT    NOT NULL,
      idx          INTEGER NOT NULL,
      to_digits    TEXT    NOT NULL,
      to_input     TEXT    NOT NULL,
      components   TEXT,
      status       INTEGER NOT NULL DEFAULT 0,
      message_id   TEXT,
      PRIMARY KEY (broadcast_id, idx)
    ) WITHOUT ROWID;
    -- A message's end finds its recipient by id; only admitted recipients have one.
    CREATE INDEX broadcast_recipients_message ON broadcast_recipients (message_id) WHERE message_id IS NOT NULL;

    -- Streamed recipient lists (NDJSON uploads), referenced by a later POST /v1/broadcasts.
    CREATE TABLE uploads (
      id            TEXT PRIMARY KEY,
      tenant_id     TEXT NOT NULL,
      count         INTEGER NOT NULL,
      created_at_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE upload_rows (
      upload_id  TEXT    NOT NULL,
      seq        INTEGER NOT NULL,
      to_input   TEXT    NOT NULL,
      components TEXT,
      PRIMARY KEY (upload_id, seq)
    ) WITHOUT ROWID;
  `,
}];

interface BroadcastRow {
  id: string; tenant_id: string; phone_number_id: string; idempotency_key: string | null; body_hash: string | null;
  message: string; category: string; state: BroadcastState; plan: string; total: number; cursor: number; counts: string;
  waiting: number; created_at_ms: number; not_before_ms: number; deadline_at_ms: number; ended_at_ms: number | null;
}

function recordOf(row: BroadcastRow): BroadcastRecord {
  return {
    id: row.id, tenantId: row.tenant_id, phoneNumberId: row.phone_number_id, idempotencyKey: row.idempotency_key, bodyHash: row.body_hash,
    message: row.message, category: row.category, state: row.state, plan: JSON.parse(row.plan) as BroadcastPlan, total: row.total,
    cursor: row.cursor, counts: { ...emptyCounts(), ...(JSON.parse(row.counts) as Record<RecipientStatusName, number>) },
    waitingForLimit: row.waiting === 1, createdAtMs: row.created_at_ms, notBeforeMs: row.not_before_ms, deadlineAtMs: row.deadline_at_ms,
    endedAtMs: row.ended_at_ms,
  };
}

export class SqliteBroadcastStore implements BroadcastStore {
  private readonly db: Database.Database;
  /** Reads uploads while the writer copies them in one transaction (WAL: a reader sees the last commit). */
  private readonly reader: Database.Database;
  private readonly sql;

  constructor(dir: string) {
    // NORMAL for progress (chunks, ends): WAL commits survive kill -9, and a chunk lost to a power
    // cut is admitted again as duplicates. What a 2xx promises (create, cancel) commits FULL (durable()).
    this.db = openSqliteFile(join(dir, BROADCAST_DB_FILE), { migrations: MIGRATIONS, synchronous: 'NORMAL' });
    this.reader = new Database(join(dir, BROADCAST_DB_FILE), { readonly: true });
    const db = this.db;
    this.sql = {
      insertBroadcast: db.prepare(`INSERT INTO broadcasts (id, tenant_id, phone_number_id, idempotency_key, body_hash, message, category, state, plan,
        total, counts, created_at_ms, not_before_ms, deadline_at_ms) VALUES (@id, @tenantId, @phoneNumberId, @idempotencyKey, @bodyHash, @message,
        @category, @state, @plan, @total, @counts, @createdAtMs, @notBeforeMs, @deadlineAtMs)`),
      insertRecipient: db.prepare('INSERT INTO broadcast_recipients (broadcast_id, idx, to_digits, to_input, components) VALUES (?, ?, ?, ?, ?)'),
      byId: db.prepare('SELECT * FROM broadcasts WHERE id = ? AND tenant_id = ?'),
      byIdAny: db.prepare('SELECT * FROM broadcasts WHERE id = ?'),
      byKey: db.prepare('SELECT * FROM broadcasts WHERE tenant_id = ? AND idempotency_key = ?'),
      active: db.prepare("SELECT * FROM broadcasts WHERE state IN ('scheduled', 'running')"),
      // Ids are time-ordered (ids.ts): the primary key's order is the creation order, no index of its own.
      list: db.prepare(`SELECT * FROM broadcasts WHERE state != 'creating' AND id < @before
        AND (@state IS NULL OR state = @state) AND (@tenantId IS NULL OR tenant_id = @tenantId) ORDER BY id DESC LIMIT @limit`),
      draining: db.prepare("SELECT * FROM broadcasts WHERE state = 'cancelled' AND deadline_at_ms > ?"),
      page: db.prepare('SELECT idx, to_digits AS "to", to_input AS toInput, components FROM broadcast_recipients WHERE broadcast_id = ? AND idx >= ? ORDER BY idx LIMIT ?'),
      setQueued: db.prepare('UPDATE broadcast_recipients SET status = 1, message_id = ? WHERE broadcast_id = ? AND idx = ? AND status = 0'),
      setRejected: db.prepare('UPDATE broadcast_recipients SET status = 5 WHERE broadcast_id = ? AND idx = ? AND status = 0'),
      queuedByMessage: db.prepare('SELECT broadcast_id, idx FROM broadcast_recipients WHERE message_id = ? AND status = 1'),
      setStatus: db.prepare('UPDATE broadcast_recipients SET status = ? WHERE broadcast_id = ? AND idx = ?'),
      queuedOf: db.prepare('SELECT idx, message_id AS messageId, to_digits AS "to" FROM broadcast_recipients WHERE broadcast_id = ? AND status = 1 AND idx > ? ORDER BY idx LIMIT ?'),
      endPending: db.prepare('UPDATE broadcast_recipients SET status = ? WHERE broadcast_id = ? AND status = 0'),
      saveProgress: db.prepare('UPDATE broadcasts SET cursor = ?, counts = ?, waiting = ? WHERE id = ?'),
      saveCounts: db.prepare('UPDATE broadcasts SET counts = ? WHERE id = ?'),
      setState: db.prepare('UPDATE broadcasts SET state = ?, ended_at_ms = ?, counts = ?, waiting = 0 WHERE id = ?'),
      setCreated: db.prepare("UPDATE broadcasts SET state = ? WHERE id = ? AND state = 'creating'"),
      creating: db.prepare("SELECT id FROM broadcasts WHERE state = 'creating'"),
      dropRecipients: db.prepare('DELETE FROM broadcast_recipients WHERE broadcast_id = ?'),
      dropRecipientsBelow: db.prepare('DELETE FROM broadcast_recipients WHERE broadcast_id = ? AND idx < ?'),
      endedBefore: db.prepare("SELECT id, total FROM broadcasts WHERE state IN ('completed', 'cancelled') AND ended_at_ms < ? LIMIT 100"),
      dropBroadcast: db.prepare('DELETE FROM broadcasts WHERE id = ?'),
      startRun: db.prepare("UPDATE broadcasts SET state = 'running' WHERE id = ? AND state = 'scheduled'"),
      insertUpload: db.prepare('INSERT INTO uploads (id, tenant_id, count, created_at_ms) VALUES (?, ?, ?, ?)'),
      insertUploadRow: db.prepare('INSERT INTO upload_rows (upload_id, seq, to_input, components) VALUES (?, ?, ?, ?)'),
      upload: db.prepare('SELECT id, count FROM uploads WHERE id = ? AND tenant_id = ?'),
      oldUploads: db.prepare('SELECT id FROM uploads WHERE created_at_ms < ?'),
      dropUpload: db.prepare('DELETE FROM uploads WHERE id = ?'),
      dropUploadRows: db.prepare('DELETE FROM upload_rows WHERE upload_id = ?'),
    };
  }

  /**
   * Stores a broadcast and its sendable recipients: the row first as `creating` (taking the
   * idempotency key), the recipients in transactions of RECIPIENTS_PER_COMMIT with a turn of the
   * event loop between them (a 10^6 list does not stall the gateway), then the row's real state in
   * a FULL commit: only then is it durable and answered. A crash before that leaves a `creating`
   * row that boot removes (dropCreating). Returns the existing broadcast when the key was taken.
   */
  async create(record: BroadcastRecord, recipients: Rows<StoredRecipient>): Promise<BroadcastRecord> {
    const state = record.state;
    const known = this.db.transaction(() => {
      if (record.idempotencyKey !== null) {
        const prior = this.byKeyNow(record.tenantId, record.idempotencyKey);
        if (prior !== null) return prior;
      }
      this.sql.insertBroadcast.run({ ...record, state: 'creating', plan: JSON.stringify(record.plan), counts: JSON.stringify(record.counts) });
      return null;
    }).immediate();
    if (known !== null) return known;
    try {
      for await (const batch of batchesOf(recipients, RECIPIENTS_PER_COMMIT)) {
        this.db.transaction(() => {
          for (const r of batch) this.sql.insertRecipient.run(record.id, r.idx, r.to, r.toInput, r.components);
        }).immediate();
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.durable(() => this.sql.setCreated.run(state, record.id));
    } catch (err) {
      this.dropBroadcast(record.id);
      throw err;
    }
    return record;
  }

  /** Boot: broadcasts whose create never finished (no answer was given) go, with their recipients. */
  async dropCreating(): Promise<number> {
    const ids = (this.sql.creating.all() as Array<{ id: string }>).map((r) => r.id);
    for (const id of ids) this.dropBroadcast(id);
    return ids.length;
  }

  /**
   * Retention: broadcasts ended before `beforeMs` go with their recipients, RECIPIENTS_PER_COMMIT rows
   * per commit with a turn of the event loop between (a 10^6 list is not one long delete).
   */
  async purgeEnded(beforeMs: number): Promise<number> {
    const ended = this.sql.endedBefore.all(beforeMs) as Array<{ id: string; total: number }>;
    for (const b of ended) {
      for (let below = RECIPIENTS_PER_COMMIT; below < b.total + RECIPIENTS_PER_COMMIT; below += RECIPIENTS_PER_COMMIT) {
        this.sql.dropRecipientsBelow.run(b.id, below);
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.dropBroadcast(b.id);
    }
    return ended.length;
  }

  private dropBroadcast(id: string): void {
    this.db.transaction(() => {
      this.sql.dropRecipients.run(id);
      this.sql.dropBroadcast.run(id);
    }).immediate();
  }

  async get(tenantId: string, id: string): Promise<BroadcastRecord | null> {
    const row = this.sql.byId.get(id, tenantId) as BroadcastRow | undefined;
    return row === undefined ? null : recordOf(row);
  }

  async byKey(tenantId: string, key: string): Promise<BroadcastRecord | null> {
    return this.byKeyNow(tenantId, key);
  }

  private byKeyNow(tenantId: string, key: string): BroadcastRecord | null {
    const row = this.sql.byKey.get(tenantId, key) as BroadcastRow | undefined;
    return row === undefined ? null : recordOf(row);
  }

  async active(): Promise<BroadcastRecord[]> {
    return (this.sql.active.all() as BroadcastRow[]).map(recordOf);
  }

  async list(query: BroadcastListQuery): Promise<{ records: BroadcastRecord[]; next: string | null }> {
    const rows = this.sql.list.all({
      before: query.before ?? '\uffff', state: query.state ?? null, tenantId: query.tenantId ?? null, limit: query.limit + 1,
    }) as BroadcastRow[];
    const more = rows.length > query.limit;
    const records = rows.slice(0, query.limit).map(recordOf);
    return { records, next: more ? records[records.length - 1]!.id : null };
  }

  async draining(nowMs: number): Promise<BroadcastRecord[]> {
    return (this.sql.draining.all(nowMs) as BroadcastRow[]).map(recordOf).filter((r) => r.counts.queued > 0);
  }

  async page(_tenantId: string, broadcastId: string, fromIdx: number, limit: number): Promise<StoredRecipient[]> {
    return this.sql.page.all(broadcastId, fromIdx, limit) as StoredRecipient[];
  }

  async queuedOf(_tenantId: string, broadcastId: string, afterIdx: number, limit: number): Promise<QueuedRecipient[]> {
    return this.sql.queuedOf.all(broadcastId, afterIdx, limit) as QueuedRecipient[];
  }

  async commitChunk(chunk: AdmittedChunk, counts: Record<RecipientStatusName, number>, waiting: boolean): Promise<boolean> {
    return this.db.transaction(() => {
      const stored = this.sql.byIdAny.get(chunk.broadcastId) as BroadcastRow | undefined;
      if (stored === undefined || (stored.state !== 'running' && stored.state !== 'scheduled')) return false;
      for (const q of chunk.queued) {
        if (this.sql.setQueued.run(q.messageId, chunk.broadcastId, q.idx).changes === 1) {
          counts.pending--;
          counts.queued++;
        }
      }
      for (const idx of chunk.rejected) {
        if (this.sql.setRejected.run(chunk.broadcastId, idx).changes === 1) {
          counts.pending--;
          counts.rejected++;
        }
      }
      this.sql.saveProgress.run(Math.max(chunk.cursor, stored.cursor), JSON.stringify(counts), waiting ? 1 : 0, chunk.broadcastId);
      return true;
    }).immediate();
  }

  async endMessages(ends: readonly MessageEnd[], countsOf: (broadcastId: string) => Record<RecipientStatusName, number> | undefined): Promise<Set<string>> {
    const touched = new Map<string, { counts: Record<RecipientStatusName, number>; cancelled: boolean }>();
    this.db.transaction(() => {
      for (const end of ends) {
        const row = this.sql.queuedByMessage.get(end.messageId) as { broadcast_id: string; idx: number } | undefined;
        if (row === undefined) continue;
        let t = touched.get(row.broadcast_id);
        if (t === undefined) {
          const stored = this.sql.byIdAny.get(row.broadcast_id) as BroadcastRow | undefined;
          if (stored === undefined) continue;
          t = { counts: countsOf(row.broadcast_id) ?? recordOf(stored).counts, cancelled: stored.state === 'cancelled' };
          touched.set(row.broadcast_id, t);
        }
        // A cancelled broadcast's message refused at its departure counts as cancelled.
        const status = end.status === 'rejected' && t.cancelled ? 'cancelled' : end.status;
        this.sql.setStatus.run(RecipientStatus[status], row.broadcast_id, row.idx);
        t.counts.queued--;
        t.counts[status]++;
      }
      for (const [id, t] of touched) this.sql.saveCounts.run(JSON.stringify(t.counts), id);
    }).immediate();
    return new Set(touched.keys());
  }

  async startRun(_tenantId: string, broadcastId: string): Promise<void> {
    this.sql.startRun.run(broadcastId);
  }

  async expirePending(_tenantId: string, broadcastId: string, total: number, counts: Record<RecipientStatusName, number>): Promise<void> {
    this.db.transaction(() => {
      const moved = this.sql.endPending.run(RecipientStatus.expired, broadcastId).changes;
      counts.pending -= moved;
      counts.expired += moved;
      this.sql.saveProgress.run(total, JSON.stringify(counts), 0, broadcastId);
    }).immediate();
  }

  async end(_tenantId: string, broadcastId: string, state: BroadcastState, atMs: number, counts: Record<RecipientStatusName, number>, pendingAs: RecipientStatusName | null): Promise<boolean> {
    return this.durable(() => this.db.transaction(() => {
      const stored = this.sql.byIdAny.get(broadcastId) as BroadcastRow | undefined;
      if (stored === undefined) return false;
      if (stored.state !== 'running' && stored.state !== 'scheduled') {
        Object.assign(counts, recordOf(stored).counts);
        return false;
      }
      if (pendingAs !== null) {
        const moved = this.sql.endPending.run(RecipientStatus[pendingAs], broadcastId).changes;
        counts.pending -= moved;
        counts[pendingAs] += moved;
      }
      this.sql.setState.run(state, atMs, JSON.stringify(counts), broadcastId);
      return true;
    }).immediate());
  }

  async stateOf(_tenantId: string, broadcastId: string): Promise<BroadcastState | null> {
    return (this.sql.byIdAny.get(broadcastId) as BroadcastRow | undefined)?.state ?? null;
  }

  async appendUpload(_tenantId: string, uploadId: string, firstSeq: number, rows: readonly UploadRow[]): Promise<void> {
    this.db.transaction(() => {
      for (let i = 0; i < rows.length; i++) this.sql.insertUploadRow.run(uploadId, firstSeq + i, rows[i]!.toInput, rows[i]!.components);
    }).immediate();
  }

  async finishUpload(uploadId: string, tenantId: string, count: number, atMs: number): Promise<void> {
    this.durable(() => this.sql.insertUpload.run(uploadId, tenantId, count, atMs));
  }

  async upload(tenantId: string, uploadId: string): Promise<{ id: string; count: number } | null> {
    return (this.sql.upload.get(uploadId, tenantId) as { id: string; count: number } | undefined) ?? null;
  }

  uploadRows(_tenantId: string, uploadId: string): Rows<UploadRow> {
    // A statement per read: two plans of one upload may be under way at once.
    return this.reader.prepare('SELECT to_input AS toInput, components FROM upload_rows WHERE upload_id = ? ORDER BY seq').iterate(uploadId) as IterableIterator<UploadRow>;
  }

  async dropUpload(_tenantId: string, uploadId: string): Promise<void> {
    this.db.transaction(() => {
      this.sql.dropUploadRows.run(uploadId);
      this.sql.dropUpload.run(uploadId);
    }).immediate();
  }

  async dropOldUploads(beforeMs: number): Promise<void> {
    for (const { id } of this.sql.oldUploads.all(beforeMs) as Array<{ id: string }>) await this.dropUpload('', id);
  }

  /** Runs `write` with synchronous=FULL: its commit is fsynced before it returns (a 2xx rests on it). */
  private durable<T>(write: () => T): T {
    this.db.pragma('synchronous = FULL');
    try {
      return write();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  async close(): Promise<void> {
    this.reader.close();
    this.db.close();
  }
}
