/**
 * Every SQL statement of the embedded store, prepared once at open, and the row ↔ record mapping.
 * Nothing builds SQL per call.
 */
import type Database from 'better-sqlite3';
import { allowedFrom } from '../transitions.js';
import type { Departure, MessageRecord, MessageState, Priority, QueueCount, QueuePage, QueuePageQuery, RecordedError, Transition } from '../types.js';

/** A `messages` row as better-sqlite3 returns it (INTEGER columns come back as JS numbers). */
interface MessageRow {
  id: string;
  tenant_id: string;
  phone_number_id: string;
  to_digits: string;
  to_input: string;
  body: string;
  priority: number;
  created_at_ms: number;
  deadline_at_ms: number;
  idempotency_key: string | null;
  body_hash: string | null;
  state: string;
  attempts: number;
  not_before_ms: number;
  wamid: string | null;
  last_error: string | null;
  updated_at_ms: number;
  sent_at_ms: number | null;
  delivered_at_ms: number | null;
  read_at_ms: number | null;
  throttled: number;
}

/** A row of a lane's page: the record's columns and its arrival sequence (the cursor's tie-break). */
type PagedRow = MessageRow & { seq: number };

export interface IdempotencyRow {
  message_id: string;
  body_hash: string | null;
  created_at_ms: number;
}

const COLUMNS = `id, tenant_id, phone_number_id, to_digits, to_input, body, priority, created_at_ms,
  deadline_at_ms, idempotency_key, body_hash, state, attempts, not_before_ms, wamid, last_error,
  updated_at_ms, sent_at_ms, delivered_at_ms, read_at_ms`;
/** What reads select: the inserted columns and those only transitions write. */
const READ_COLUMNS = `${COLUMNS}, throttled`;

export function rowToRecord(row: MessageRow): MessageRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    phoneNumberId: row.phone_number_id,
    to: row.to_digits,
    toInput: row.to_input,
    body: row.body,
    priority: row.priority as Priority,
    createdAtMs: row.created_at_ms,
    deadlineAtMs: row.deadline_at_ms,
    idempotencyKey: row.idempotency_key,
    bodyHash: row.body_hash,
    state: row.state as MessageState,
    attempts: row.attempts,
    notBeforeMs: row.not_before_ms,
    wamid: row.wamid,
    lastError: row.last_error === null ? null : (JSON.parse(row.last_error) as RecordedError),
    updatedAtMs: row.updated_at_ms,
    sentAtMs: row.sent_at_ms,
    deliveredAtMs: row.delivered_at_ms,
    readAtMs: row.read_at_ms,
    ...(row.throttled > 0 ? { throttled: row.throttled } : {}),
  };
}

/** Positional parameters of the insert, in COLUMNS order (positional binding is cheaper than named). */
function insertParams(r: MessageRecord): Array<string | number | null> {
  return [
    r.id, r.tenantId, r.phoneNumberId, r.to, r.toInput, r.body, r.priority, r.createdAtMs, r.deadlineAtMs,
    r.idempotencyKey, r.bodyHash, r.state, r.attempts, r.notBeforeMs, r.wamid,
    r.lastError === null ? null : JSON.stringify(r.lastError),
    r.updatedAtMs, r.sentAtMs, r.deliveredAtMs, r.readAtMs,
  ];
}

const errorJson = (e: RecordedError | null | undefined): string | null => (e === null || e === undefined ? null : JSON.stringify(e));

/** `state IN (...)` for the states `to` may be entered from: the ordering rules of transitions.ts, as SQL. */
function fromStates(to: MessageState): string {
  return `state IN (${allowedFrom(to).map((s) => `'${s}'`).join(', ')})`;
}

export class Statements {
  private readonly insertMessage: Database.Statement;
  private readonly toSending: Database.Statement<[number, number, string]>;
  private readonly toQueued: Database.Statement<[number, string | null, number | null, number, string]>;
  private readonly toSent: Database.Statement<[string, number, number, string]>;
  private readonly toDelivered: Database.Statement<[number, number, string]>;
  private readonly toRead: Database.Statement<[number, number, string]>;
  private readonly toFailed: Database.Statement<[string | null, number, string]>;
  private readonly toExpired: Database.Statement<[string | null, number, string]>;
  private readonly toRejected: Database.Statement<[string | null, number, string]>;
  private readonly toRejectedUnsent: Database.Statement<[string | null, number, string]>;
  private readonly selectById: Database.Statement<[string], MessageRow>;
  private readonly selectByTenantId: Database.Statement<[string, string], MessageRow>;
  private readonly selectByWamid: Database.Statement<[string], MessageRow>;
  private readonly selectUnfinished: Database.Statement<[], MessageRow>;
  private readonly selectPage: Database.Statement<[string, number, number, number, number, number], PagedRow>;
  private readonly selectNextDue: Database.Statement<[string, number, number], { due: number | null }>;
  private readonly selectCounts: Database.Statement<[], { phone_number_id: string; n: number }>;
  private readonly insertOwed: Database.Statement<[number, string]>;
  private readonly selectOwed: Database.Statement<[string, number, number], { id: string }>;
  private readonly deleteOwed: Database.Statement<[string]>;
  private readonly selectDepartures: Database.Statement<[{ since: number }], { phone_number_id: string; to_digits: string; at_ms: number }>;
  private readonly selectIdempotency: Database.Statement<[string, string], IdempotencyRow>;
  private readonly upsertIdempotency: Database.Statement<[string, string, string, string | null, number]>;
  private readonly deleteIdempotencyBefore: Database.Statement<[number, number]>;
  private readonly deleteFinalBefore: Database.Statement<[number, number]>;
  private readonly upsertMeta: Database.Statement<[string, string | number]>;

  constructor(db: Database.Database) {
    this.insertMessage = db.prepare(`INSERT INTO messages (${COLUMNS}) VALUES (${new Array(20).fill('?').join(', ')})`);
    // Each transition touches only its own fields, and only from the states the rules allow.
    const update = (to: MessageState, set: string) =>
      db.prepare(`UPDATE messages SET state = '${to}', ${set}, updated_at_ms = ? WHERE id = ? AND ${fromStates(to)}`);
    this.toSending = update('sending', 'attempts = ?');
    this.toQueued = update('queued', 'not_before_ms = ?, last_error = ?, throttled = coalesce(?, throttled)');
    this.toSent = update('sent', 'wamid = ?, sent_at_ms = ?');
    this.toDelivered = update('delivered', 'delivered_at_ms = ?');
    this.toRead = update('read', 'read_at_ms = ?');
    this.toFailed = update('failed', 'last_error = ?');
    this.toExpired = update('expired', 'last_error = COALESCE(?, last_error)');
    this.toRejected = update('rejected', 'last_error = COALESCE(?, last_error)');
    this.toRejectedUnsent = db.prepare("UPDATE messages SET state = 'rejected', last_error = COALESCE(?, last_error), updated_at_ms = ? WHERE id = ? AND state = 'queued'");
    this.selectById = db.prepare(`SELECT ${READ_COLUMNS} FROM messages WHERE id = ?`);
    this.selectByTenantId = db.prepare(`SELECT ${READ_COLUMNS} FROM messages WHERE tenant_id = ? AND id = ?`);
    // Several rows could share a wamid only if the upstream reused one; the newest wins.
    this.selectByWamid = db.prepare(`SELECT ${READ_COLUMNS} FROM messages WHERE wamid = ? ORDER BY seq DESC LIMIT 1`);
    this.selectUnfinished = db.prepare(
      `SELECT ${READ_COLUMNS} FROM messages WHERE state IN ('queued', 'sending') ORDER BY created_at_ms, seq`,
    );
    // Every lane query repeats the partial index's condition word for word (messages_lane,
    // migration 4), and the row-value comparison walks the index from the cursor on.
    this.selectPage = db.prepare(
      `SELECT ${READ_COLUMNS}, seq FROM messages
        WHERE phone_number_id = ? AND priority = ? AND state IN ('queued', 'sending')
          AND (not_before_ms, seq) > (?, ?) AND not_before_ms <= ?
        ORDER BY not_before_ms, seq LIMIT ?`,
    );
    this.selectNextDue = db.prepare(
      `SELECT MIN(not_before_ms) AS due FROM messages
        WHERE phone_number_id = ? AND priority = ? AND state IN ('queued', 'sending') AND not_before_ms > ?`,
    );
    this.selectCounts = db.prepare(
      `SELECT phone_number_id, COUNT(*) AS n FROM messages WHERE state IN ('queued', 'sending') GROUP BY phone_number_id`,
    );
    // One range of messages_final_age. Expired and rejected messages never left; a failed one did
    // only if it was attempted. A message in flight at a crash (\`sending\`) is not counted: its own
    // retry is what would follow it, and the lane's pair limiter spaces everything after that retry.
    this.selectDepartures = db.prepare(
      `SELECT phone_number_id, to_digits, MAX(COALESCE(sent_at_ms, updated_at_ms)) AS at_ms FROM messages
         WHERE updated_at_ms >= @since AND state NOT IN ('queued', 'sending', 'expired', 'rejected') AND attempts > 0
         GROUP BY phone_number_id, to_digits HAVING at_ms >= @since`,
    );
    this.insertOwed = db.prepare('INSERT OR IGNORE INTO owed_endings (id, tenant_id, at_ms) SELECT id, tenant_id, ? FROM messages WHERE id = ?');
    this.selectOwed = db.prepare('SELECT id FROM owed_endings WHERE tenant_id = ? AND at_ms < ? LIMIT ?');
    this.deleteOwed = db.prepare('DELETE FROM owed_endings WHERE id = ?');
    this.selectIdempotency = db.prepare(
      'SELECT message_id, body_hash, created_at_ms FROM idempotency WHERE tenant_id = ? AND key = ?',
    );
    this.upsertIdempotency = db.prepare(
      'INSERT OR REPLACE INTO idempotency (tenant_id, key, message_id, body_hash, created_at_ms) VALUES (?, ?, ?, ?, ?)',
    );
    this.deleteIdempotencyBefore = db.prepare(
      `DELETE FROM idempotency WHERE (tenant_id, key) IN
        (SELECT tenant_id, key FROM idempotency WHERE created_at_ms < ? LIMIT ?)`,
    );
    // The inner WHERE repeats the partial index's condition word for word so SQLite can use it.
    this.deleteFinalBefore = db.prepare(
      `DELETE FROM messages WHERE seq IN
        (SELECT seq FROM messages WHERE state NOT IN ('queued', 'sending') AND updated_at_ms < ? LIMIT ?)`,
    );
    this.upsertMeta = db.prepare('INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)');
  }

  insert(record: MessageRecord): void {
    this.insertMessage.run(insertParams(record));
  }

  /** Applies a transition if the rules allow it from the row's current state; true when a row changed. */
  transition(id: string, change: Transition): boolean {
    const at = change.atMs;
    switch (change.state) {
      case 'sending': return this.toSending.run(change.attempts, at, id).changes > 0;
      case 'queued': return this.toQueued.run(change.notBeforeMs, errorJson(change.lastError), change.throttled ?? null, at, id).changes > 0;
      case 'sent': return this.toSent.run(change.wamid, at, at, id).changes > 0;
      case 'delivered': return this.toDelivered.run(at, at, id).changes > 0;
      case 'read': return this.toRead.run(at, at, id).changes > 0;
      case 'failed': return this.owe(id, at, this.toFailed.run(errorJson(change.lastError), at, id).changes > 0);
      case 'expired': return this.owe(id, at, this.toExpired.run(errorJson(change.lastError), at, id).changes > 0);
      case 'rejected': return this.owe(id, at, (change.unsent === true ? this.toRejectedUnsent : this.toRejected).run(errorJson(change.lastError), at, id).changes > 0);
    }
  }

  /** An unsent ending owes its tenant an event, noted in the same transaction as the final state. */
  private owe(id: string, atMs: number, changed: boolean): boolean {
    if (changed) this.insertOwed.run(atMs, id);
    return changed;
  }

  owedEndings(tenantId: string, beforeMs: number, limit: number): string[] {
    return this.selectOwed.all(tenantId, beforeMs, limit).map((r) => r.id);
  }

  endingSettled(id: string): void {
    this.deleteOwed.run(id);
  }

  byId(id: string): MessageRecord | null {
    const row = this.selectById.get(id);
    return row === undefined ? null : rowToRecord(row);
  }

  byTenantId(tenantId: string, id: string): MessageRecord | null {
    const row = this.selectByTenantId.get(tenantId, id);
    return row === undefined ? null : rowToRecord(row);
  }

  byWamid(wamid: string): MessageRecord | null {
    const row = this.selectByWamid.get(wamid);
    return row === undefined ? null : rowToRecord(row);
  }

  unfinished(): MessageRecord[] {
    return this.selectUnfinished.all().map(rowToRecord);
  }

  queuePage(q: QueuePageQuery): QueuePage {
    const after = q.after ?? { notBeforeMs: Number.MIN_SAFE_INTEGER, seq: 0 };
    const rows = this.selectPage.all(q.phoneNumberId, q.priority, after.notBeforeMs, after.seq, q.dueByMs, q.limit);
    const tail = rows[rows.length - 1];
    return {
      records: rows.map(rowToRecord),
      last: tail === undefined ? null : { notBeforeMs: tail.not_before_ms, seq: tail.seq },
      nextDueMs: this.selectNextDue.get(q.phoneNumberId, q.priority, q.dueByMs)?.due ?? null,
    };
  }

  queueCounts(): QueueCount[] {
    return this.selectCounts.all().map((r) => ({ phoneNumberId: r.phone_number_id, count: r.n }));
  }

  departuresSince(sinceMs: number): Departure[] {
    return this.selectDepartures.all({ since: sinceMs }).map((r) => ({ phoneNumberId: r.phone_number_id, to: r.to_digits, atMs: r.at_ms }));
  }

  idempotency(tenantId: string, key: string): IdempotencyRow | null {
    return this.selectIdempotency.get(tenantId, key) ?? null;
  }

  rememberKey(tenantId: string, key: string, messageId: string, bodyHash: string | null, atMs: number): void {
    this.upsertIdempotency.run(tenantId, key, messageId, bodyHash, atMs);
  }

  /** Deletes up to `limit` idempotency entries created before `cutoffMs`; returns how many. */
  forgetKeysBefore(cutoffMs: number, limit: number): number {
    return this.deleteIdempotencyBefore.run(cutoffMs, limit).changes;
  }

  /** Deletes up to `limit` final records last changed before `cutoffMs`; returns how many. */
  forgetFinalBefore(cutoffMs: number, limit: number): number {
    return this.deleteFinalBefore.run(cutoffMs, limit).changes;
  }

  setMeta(key: string, value: string | number): void {
    this.upsertMeta.run(key, value);
  }
}
