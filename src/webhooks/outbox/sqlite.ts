/**
 * Embedded outbox in `<storage.path>/webhooks.db` (see ../db.ts for WAL + synchronous=FULL).
 *
 * Group commit (src/store/group-commit.ts, the store's own batching writer): appends queue up and
 * are applied in one transaction on the next turn of the event loop, so a burst of N enqueues costs one fsync (~0.3 ms idle, several ms under load on this
 * machine), not N. Settles (delivered / retry / dead) are less urgent: losing one in a crash only
 * means one redelivery, so they wait up to `settleFlushMs` for a shared commit (or ride along with
 * the next append). One fsync per delivered event capped delivery at ~550 events/s; batched,
 * see the numbers in test/webhooks/webhooks.bench.ts. Every write's promise resolves only after its
 * transaction committed.
 * Delivered rows are deleted to keep the table (and the pending index scan) small.
 */
import { GroupCommit } from '../../store/group-commit.js';
import type { WebhooksDb } from '../db.js';
import { OUTBOX_DEAD, OUTBOX_FORMAT_META, OUTBOX_FORMAT_SENDGATE, OUTBOX_PENDING } from '../migrations.js';
import type { DeadEntry, NewOutboxEntry, Outbox, OutboxEntry, OutboxFormat, SettleOutcome } from './types.js';

interface Row {
  seq: number;
  event_id: string;
  tenant_id: string;
  order_key: string;
  body: string;
  format: number;
  created_at_ms: number;
  attempts: number;
  next_attempt_at_ms: number;
}

const STATE_PENDING = OUTBOX_PENDING;
const STATE_DEAD = OUTBOX_DEAD;

export interface SqliteOutboxOptions {
  /** Longest a settle waits for a commit (default 50 ms). */
  settleFlushMs?: number;
}

export class SqliteOutbox implements Outbox {
  private readonly writes: GroupCommit;
  private closed = false;
  private readonly settleFlushMs: number;
  private readonly stmts;

  constructor(db: WebhooksDb, options: SqliteOutboxOptions = {}) {
    this.settleFlushMs = options.settleFlushMs ?? 50;
    this.writes = new GroupCommit(db, { maxBatch: 10_000, onBatch: () => {} });
    // Tables: ../migrations.ts, applied by openWebhooksDb.
    this.stmts = {
      insert: db.prepare(`INSERT INTO tenant_outbox (event_id, tenant_id, order_key, body, format, created_at_ms, next_attempt_at_ms)
                          VALUES (@eventId, @tenantId, @orderKey, @body, @format, @createdAtMs, @createdAtMs)
                          ON CONFLICT (event_id) DO NOTHING RETURNING seq`).pluck(),
      pending: db.prepare(`SELECT seq, event_id, tenant_id, order_key, body, format, created_at_ms, attempts, next_attempt_at_ms
                           FROM tenant_outbox WHERE tenant_id = ? AND seq > ? AND state = ${STATE_PENDING} ORDER BY seq LIMIT ?`),
      pendingOfKey: db.prepare(`SELECT seq, event_id, tenant_id, order_key, body, format, created_at_ms, attempts, next_attempt_at_ms
                           FROM tenant_outbox WHERE tenant_id = ? AND order_key = ? AND seq > ? AND seq <= ? AND state = ${STATE_PENDING}
                           ORDER BY seq LIMIT ?`),
      tenants: db.prepare(`SELECT tenant_id, COUNT(*) AS n FROM tenant_outbox WHERE state = ${STATE_PENDING} GROUP BY tenant_id`),
      remove: db.prepare('DELETE FROM tenant_outbox WHERE seq = ?'),
      retry: db.prepare('UPDATE tenant_outbox SET attempts = ?, next_attempt_at_ms = ?, last_error = ? WHERE seq = ?'),
      dead: db.prepare(`UPDATE tenant_outbox SET attempts = ?, state = ${STATE_DEAD}, last_error = ? WHERE seq = ?`),
      deadOf: db.prepare(`SELECT seq, event_id, tenant_id, order_key, body, format, created_at_ms FROM tenant_outbox
                          WHERE tenant_id = ? AND state = ${STATE_DEAD} ORDER BY seq`),
      deadPage: db.prepare(`SELECT seq, event_id, tenant_id, order_key, body, format, created_at_ms, attempts, next_attempt_at_ms, last_error
                             FROM tenant_outbox WHERE tenant_id = ? AND seq > ? AND state = ${STATE_DEAD} ORDER BY seq LIMIT ?`),
      requeue: db.prepare(`INSERT INTO tenant_outbox (event_id, tenant_id, order_key, body, format, created_at_ms, next_attempt_at_ms)
                           VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq`).pluck(),
    };
  }

  append(entry: NewOutboxEntry): Promise<OutboxEntry | null> {
    return this.write(false, () => {
      const seq = this.stmts.insert.get({
        eventId: entry.eventId, tenantId: entry.tenantId, orderKey: entry.orderKey, body: entry.body,
        format: formatCode(entry.format), createdAtMs: entry.createdAtMs,
      }) as number | undefined;
      if (seq === undefined) return null;
      return { ...entry, seq, attempts: 0, nextAttemptAtMs: entry.createdAtMs };
    });
  }

  async pending(tenantId: string, afterSeq: number, limit: number): Promise<OutboxEntry[]> {
    return (this.stmts.pending.all(tenantId, afterSeq, limit) as Row[]).map(toEntry);
  }

  async pendingOfKey(tenantId: string, orderKey: string, afterSeq: number, upToSeq: number, limit: number): Promise<OutboxEntry[]> {
    return (this.stmts.pendingOfKey.all(tenantId, orderKey, afterSeq, upToSeq, limit) as Row[]).map(toEntry);
  }

  async summary(): Promise<{ tenants: string[]; pending: number }> {
    const rows = this.stmts.tenants.all() as Array<{ tenant_id: string; n: number }>;
    return { tenants: rows.map((r) => r.tenant_id), pending: rows.reduce((sum, r) => sum + r.n, 0) };
  }

  /** Seqs are global here: the tenant is not needed to find the row. */
  settle(_tenantId: string, seq: number, outcome: SettleOutcome): Promise<void> {
    if (this.closed) return Promise.reject(new Error('outbox closed'));
    return this.writes.submitWithin(() => {
      if (outcome.kind === 'delivered') this.stmts.remove.run(seq);
      else if (outcome.kind === 'retry') this.stmts.retry.run(outcome.attempts, outcome.nextAttemptAtMs, outcome.lastError, seq);
      else this.stmts.dead.run(outcome.attempts, outcome.lastError, seq);
    }, this.settleFlushMs);
  }

  requeueDead(tenantId: string, nowMs: number): Promise<OutboxEntry[]> {
    return this.write(true, () => {
      const dead = this.stmts.deadOf.all(tenantId) as Row[];
      return dead.map((r): OutboxEntry => {
        this.stmts.remove.run(r.seq);
        const seq = this.stmts.requeue.get(r.event_id, r.tenant_id, r.order_key, r.body, r.format, r.created_at_ms, nowMs) as number;
        return withFormat({ seq, eventId: r.event_id, tenantId: r.tenant_id, orderKey: r.order_key, body: r.body, createdAtMs: r.created_at_ms, attempts: 0, nextAttemptAtMs: nowMs }, r.format);
      });
    });
  }

  async dead(tenantId: string, afterSeq: number, limit: number): Promise<DeadEntry[]> {
    return (this.stmts.deadPage.all(tenantId, afterSeq, limit) as Array<Row & { last_error: string | null }>)
      .map((r) => ({ ...toEntry(r), lastError: r.last_error }));
  }

  async close(): Promise<void> {
    this.writes.flush();
    this.closed = true;
  }

  /** `atomic`: several statements that stand or fall together. */
  private write<T>(atomic: boolean, run: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('outbox closed'));
    return this.writes.submit(run, atomic);
  }
}

function formatCode(format: OutboxFormat | undefined): number {
  return format === 'meta' ? OUTBOX_FORMAT_META : OUTBOX_FORMAT_SENDGATE;
}

/** Only Meta-format entries carry `format`: sendgate's stay as they were. */
function withFormat(entry: OutboxEntry, code: number): OutboxEntry {
  if (code === OUTBOX_FORMAT_META) entry.format = 'meta';
  return entry;
}

function toEntry(r: Row): OutboxEntry {
  return withFormat({
    seq: r.seq,
    eventId: r.event_id,
    tenantId: r.tenant_id,
    orderKey: r.order_key,
    body: r.body,
    createdAtMs: r.created_at_ms,
    attempts: r.attempts,
    nextAttemptAtMs: r.next_attempt_at_ms,
  }, r.format);
}
