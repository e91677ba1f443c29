/**
 * The embedded store's operator statements (src/store/ended.ts): failed and expired records newest
 * first, over all tenants, one tenant or one number, each from its partial index (migration 6), and
 * the requeue of one of them. Prepared once at open.
 */
import type Database from 'better-sqlite3';
import { decodeEndedCursor, endedCursor, type EndedPage, type EndedQuery, type RequeueChange } from '../ended.js';
import type { MessageRecord } from '../types.js';
import { rowToRecord } from './statements.js';

type Row = Parameters<typeof rowToRecord>[0] & { seq: number };
type PageArgs = [string, number, number, number];

const COLUMNS = `id, tenant_id, phone_number_id, to_digits, to_input, body, priority, created_at_ms,
  deadline_at_ms, idempotency_key, body_hash, state, attempts, not_before_ms, wamid, last_error,
  updated_at_ms, sent_at_ms, delivered_at_ms, read_at_ms, throttled, seq`;

export class EndedStatements {
  private readonly all: Database.Statement<PageArgs, Row>;
  private readonly ofTenant: Database.Statement<[string, ...PageArgs], Row>;
  private readonly ofNumber: Database.Statement<[string, ...PageArgs], Row>;
  private readonly ofNumberAndTenant: Database.Statement<[string, string, ...PageArgs], Row>;
  private readonly toQueued: Database.Statement<[number, number, number, string]>;
  private readonly byId: Database.Statement<[string], Row>;

  constructor(db: Database.Database) {
    // Each repeats its index's condition word for word (state IN ...) so SQLite can use it; the
    // row-value comparison walks the index backwards from the cursor.
    const page = (filter: string) => db.prepare(
      `SELECT ${COLUMNS} FROM messages
        WHERE ${filter} state = ? AND state IN ('failed', 'expired') AND (updated_at_ms, seq) < (?, ?)
        ORDER BY updated_at_ms DESC, seq DESC LIMIT ?`,
    );
    this.all = page('') as Database.Statement<PageArgs, Row>;
    this.ofTenant = page('tenant_id = ? AND') as Database.Statement<[string, ...PageArgs], Row>;
    this.ofNumber = page('phone_number_id = ? AND') as Database.Statement<[string, ...PageArgs], Row>;
    this.ofNumberAndTenant = page('phone_number_id = ? AND tenant_id = ? AND') as Database.Statement<[string, string, ...PageArgs], Row>;
    this.toQueued = db.prepare(
      `UPDATE messages SET state = 'queued', attempts = 0, throttled = 0, not_before_ms = ?, deadline_at_ms = ?, updated_at_ms = ?
        WHERE id = ? AND state IN ('failed', 'expired')`,
    );
    this.byId = db.prepare(`SELECT ${COLUMNS} FROM messages WHERE id = ?`);
  }

  list(q: EndedQuery): EndedPage {
    const from = q.after === null ? null : decodeEndedCursor(q.after);
    const args: PageArgs = [q.state, from?.updatedAtMs ?? Number.MAX_SAFE_INTEGER, from?.seq ?? Number.MAX_SAFE_INTEGER, q.limit];
    let rows: Row[];
    if (q.phoneNumberId !== undefined && q.tenantId !== undefined) rows = this.ofNumberAndTenant.all(q.phoneNumberId, q.tenantId, ...args);
    else if (q.phoneNumberId !== undefined) rows = this.ofNumber.all(q.phoneNumberId, ...args);
    else if (q.tenantId !== undefined) rows = this.ofTenant.all(q.tenantId, ...args);
    else rows = this.all.all(...args);
    const tail = rows[rows.length - 1];
    return {
      records: rows.map(rowToRecord),
      next: tail === undefined || rows.length < q.limit ? null : endedCursor(tail.updated_at_ms, tail.seq, tail.id),
    };
  }

  requeue(id: string, change: RequeueChange): MessageRecord | null {
    if (this.toQueued.run(change.atMs, change.deadlineAtMs, change.atMs, id).changes === 0) return null;
    const row = this.byId.get(id);
    return row === undefined ? null : rowToRecord(row);
  }
}
