/**
 * Durable broadcast state in its own SQLite file `<storage.path>/broadcasts.db` (WAL,
 * synchronous=FULL: a resolved write survives kill -9), so a broadcast's recipient list never
 * contends with the send queue's commits. Writes are whole chunks in one transaction (a plan's
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
  RecipientStatus, STATUS_NAMES, type BroadcastPlan, type BroadcastRecord, type BroadcastState, type RecipientStatusName, type StoredRecipient,
} from './types.js';

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

/** Counts by recipient status: every status named, zeros included. */
export function emptyCounts(): Record<RecipientStatusName, number> {
  const counts = {} as Record<RecipientStatusName, number>;
  for (const name of STATUS_NAMES) counts[name] = 0;
  return counts;
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

/** A page of broadcasts for operators (GET /admin/broadcasts). */
export interface BroadcastListQuery {
  state?: BroadcastState;
  tenantId?: string;
  limit: number;
  /** Only broadcasts with an id below this one (older). */
  before?: string;
}

/** A chunk's outcome, committed in one transaction with the cursor. */
export interface AdmittedChunk {
  broadcastId: string;
  cursor: number;
  /** idx → message id of recipients whose message is stored (queued, or already further). */
  queued: Array<{ idx: number; messageId: string }>;
  /** idx of recipients a policy refused at admission (ended `rejected`, no message stored). */
  rejected: number[];
}

export class BroadcastStore {
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
      setWaiting: db.prepare('UPDATE broadcasts SET waiting = ? WHERE id = ?'),
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
  async create(record: BroadcastRecord, recipients: Iterable<StoredRecipient>): Promise<BroadcastRecord> {
    const state = record.state;
    const known = this.db.transaction(() => {
      if (record.idempotencyKey !== null) {
        const prior = this.byKey(record.tenantId, record.idempotencyKey);
        if (prior !== null) return prior;
      }
      this.sql.insertBroadcast.run({ ...record, state: 'creating', plan: JSON.stringify(record.plan), counts: JSON.stringify(record.counts) });
      return null;
    }).immediate();
    if (known !== null) return known;
    try {
      const it = recipients[Symbol.iterator]();
      for (let done = false; !done;) {
        done = this.db.transaction(() => {
          for (let i = 0; i < RECIPIENTS_PER_COMMIT; i++) {
            const next = it.next();
            if (next.done === true) return true;
            const r = next.value;
            this.sql.insertRecipient.run(record.id, r.idx, r.to, r.toInput, r.components);
          }
          return false;
        }).immediate();
        if (!done) await new Promise((resolve) => setImmediate(resolve));
      }
      this.durable(() => this.sql.setCreated.run(state, record.id));
    } catch (err) {
      this.dropBroadcast(record.id);
      throw err;
    }
    return record;
  }

  /** Boot: broadcasts whose create never finished (no answer was given) go, with their recipients. */
  dropCreating(): number {
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

  get(tenantId: string, id: string): BroadcastRecord | null {
    const row = this.sql.byId.get(id, tenantId) as BroadcastRow | undefined;
    return row === undefined ? null : recordOf(row);
  }

  byKey(tenantId: string, key: string): BroadcastRecord | null {
    const row = this.sql.byKey.get(tenantId, key) as BroadcastRow | undefined;
    return row === undefined ? null : recordOf(row);
  }

  /** Broadcasts not yet ended (boot resumes them). */
  active(): BroadcastRecord[] {
    return (this.sql.active.all() as BroadcastRow[]).map(recordOf);
  }

  /**
   * Broadcasts newest first, `limit` at most (the caller bounds it), after the id `before` (the
   * previous page's last); `next` is this page's last id when more may follow.
   */
  list(query: BroadcastListQuery): { records: BroadcastRecord[]; next: string | null } {
    const rows = this.sql.list.all({
      before: query.before ?? '\uffff', state: query.state ?? null, tenantId: query.tenantId ?? null, limit: query.limit + 1,
    }) as BroadcastRow[];
    const more = rows.length > query.limit;
    const records = rows.slice(0, query.limit).map(recordOf);
    return { records, next: more ? records[records.length - 1]!.id : null };
  }

  /** Cancelled broadcasts whose messages could still leave (before their deadline): boot refuses them again. */
  draining(nowMs: number): BroadcastRecord[] {
    return (this.sql.draining.all(nowMs) as BroadcastRow[]).map(recordOf).filter((r) => r.counts.queued > 0);
  }

  /** The next `limit` recipients from `fromIdx` on, in order. */
  page(broadcastId: string, fromIdx: number, limit: number): StoredRecipient[] {
    return this.sql.page.all(broadcastId, fromIdx, limit) as StoredRecipient[];
  }

  /** Admitted recipients whose message has not ended (bounded by what the runner keeps queued). */
  queuedOf(broadcastId: string, afterIdx: number, limit: number): Array<{ idx: number; messageId: string; to: string }> {
    return this.sql.queuedOf.all(broadcastId, afterIdx, limit) as Array<{ idx: number; messageId: string; to: string }>;
  }

  /** A chunk admitted into the queue: its recipients' states, the cursor and the counts, in one commit. */
  commitChunk(chunk: AdmittedChunk, counts: Record<RecipientStatusName, number>, waiting: boolean): void {
    this.db.transaction(() => {
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
      this.sql.saveProgress.run(chunk.cursor, JSON.stringify(counts), waiting ? 1 : 0, chunk.broadcastId);
    }).immediate();
  }

  /**
   * Messages that ended (sent, failed, expired, rejected): each admitted recipient moves once, and
   * its broadcast's counts with it. Ids of other messages match nothing. Returns the broadcasts touched.
   */
  endMessages(
    ends: ReadonlyArray<{ messageId: string; status: RecipientStatusName }>,
    countsOf: (broadcastId: string) => Record<RecipientStatusName, number> | undefined,
    /** The status to record instead (a cancelled broadcast's rejected message is `cancelled`). */
    statusOf?: (broadcastId: string, status: RecipientStatusName) => RecipientStatusName,
  ): Set<string> {
    const touched = new Map<string, Record<RecipientStatusName, number>>();
    this.db.transaction(() => {
      for (const end of ends) {
        const row = this.sql.queuedByMessage.get(end.messageId) as { broadcast_id: string; idx: number } | undefined;
        if (row === undefined) continue;
        const status = statusOf?.(row.broadcast_id, end.status) ?? end.status;
        this.sql.setStatus.run(RecipientStatus[status], row.broadcast_id, row.idx);
        let counts = touched.get(row.broadcast_id) ?? countsOf(row.broadcast_id);
        // An ended broadcast (cancelled while a message was in flight): its stored counts move.
        if (counts === undefined) {
          const stored = this.sql.byIdAny.get(row.broadcast_id) as BroadcastRow | undefined;
          if (stored === undefined) continue;
          counts = recordOf(stored).counts;
        }
        counts.queued--;
        counts[status]++;
        touched.set(row.broadcast_id, counts);
      }
      for (const [id, counts] of touched) this.sql.saveCounts.run(JSON.stringify(counts), id);
    }).immediate();
    return new Set(touched.keys());
  }

  setWaiting(broadcastId: string, waiting: boolean): void {
    this.sql.setWaiting.run(waiting ? 1 : 0, broadcastId);
  }

  startRun(broadcastId: string): void {
    this.sql.startRun.run(broadcastId);
  }

  /** The deadline passed: recipients not yet admitted end `expired`; the cursor goes to the end. */
  expirePending(broadcastId: string, total: number, counts: Record<RecipientStatusName, number>): void {
    this.db.transaction(() => {
      const moved = this.sql.endPending.run(RecipientStatus.expired, broadcastId).changes;
      counts.pending -= moved;
      counts.expired += moved;
      this.sql.saveProgress.run(total, JSON.stringify(counts), 0, broadcastId);
    }).immediate();
  }

  /** Ends a broadcast: its pending recipients take `pendingAs` (cancelled, expired), counts saved. */
  end(broadcastId: string, state: BroadcastState, atMs: number, counts: Record<RecipientStatusName, number>, pendingAs: RecipientStatusName | null): void {
    this.durable(() => this.db.transaction(() => {
      if (pendingAs !== null) {
        const moved = this.sql.endPending.run(RecipientStatus[pendingAs], broadcastId).changes;
        counts.pending -= moved;
        counts[pendingAs] += moved;
      }
      this.sql.setState.run(state, atMs, JSON.stringify(counts), broadcastId);
    }).immediate());
  }

  /** Stores an upload's rows (one transaction per call: the caller streams chunks). */
  appendUpload(uploadId: string, firstSeq: number, rows: ReadonlyArray<{ toInput: string; components: string | null }>): void {
    this.db.transaction(() => {
      for (let i = 0; i < rows.length; i++) this.sql.insertUploadRow.run(uploadId, firstSeq + i, rows[i]!.toInput, rows[i]!.components);
    }).immediate();
  }

  /** Marks an upload complete (only complete uploads can be referenced). */
  finishUpload(uploadId: string, tenantId: string, count: number, atMs: number): void {
    this.durable(() => this.sql.insertUpload.run(uploadId, tenantId, count, atMs));
  }

  upload(tenantId: string, uploadId: string): { id: string; count: number } | null {
    return (this.sql.upload.get(uploadId, tenantId) as { id: string; count: number } | undefined) ?? null;
  }

  /** An upload's rows in order, read lazily. */
  uploadRows(uploadId: string): IterableIterator<{ toInput: string; components: string | null }> {
    // A statement per read: two plans of one upload may be under way at once.
    return this.reader.prepare('SELECT to_input AS toInput, components FROM upload_rows WHERE upload_id = ? ORDER BY seq').iterate(uploadId) as IterableIterator<{ toInput: string; components: string | null }>;
  }

  /** Drops uploads older than `beforeMs` and any rows of an upload that never finished (`uploadId`). */
  dropUpload(uploadId: string): void {
    this.db.transaction(() => {
      this.sql.dropUploadRows.run(uploadId);
      this.sql.dropUpload.run(uploadId);
    }).immediate();
  }

  oldUploads(beforeMs: number): string[] {
    return (this.sql.oldUploads.all(beforeMs) as Array<{ id: string }>).map((r) => r.id);
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

  close(): void {
    this.reader.close();
    this.db.close();
  }
}
