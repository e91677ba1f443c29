/**
 * The embedded Store: one SQLite file (better-sqlite3) in WAL mode with synchronous=FULL, so a
 * resolved write has been fsynced and survives kill -9. Writes go through GroupCommit; reads run
 * directly (better-sqlite3 is synchronous, and between batches no transaction is open, so a read
 * sees exactly what has been committed).
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../clock.js';
import type { EndedPage, EndedQuery, RequeueChange } from '../ended.js';
import { storeClosed } from '../errors.js';
import { initialRecord } from '../transitions.js';
import type { ControlEntry, Departure, EnqueueOutcome, MessageRecord, NewMessage, QueueCount, QueuePage, QueuePageQuery, Store, Transition } from '../types.js';
import { ControlStatements } from './control-statements.js';
import { EndedStatements } from './ended-statements.js';
import { openDatabase } from './database.js';
import { GroupCommit } from '../group-commit.js';
import { Statements } from './statements.js';

/**
 * Idempotency keys are honoured for at least 24 h (the contract) and forgotten once older than
 * this: purged, and ignored if a purge has not reached them yet, so behaviour never depends on
 * when the purge last ran.
 */
export const IDEMPOTENCY_MAX_MS = 48 * 3_600_000;


export interface EmbeddedOptions {
  /** Directory holding the database; created if missing. */
  path: string;
  clock: Clock;
  /** Writes per transaction before flushing without waiting for the next turn (1 = no group commit). */
  maxBatch?: number;
  /** How long a write waits for a lock held by another connection before the batch fails. */
  busyTimeoutMs?: number;
  /** Hold the database lock from open to close (default true: one process per directory). */
  exclusive?: boolean;
  /** Period of the purge of expired idempotency keys and old final records (default 10 min); it also runs at open. */
  purgeEveryMs?: number;
  /**
   * Rows deleted per purge transaction (default 5000). Deleting millions of expired rows in one
   * statement would hold the event loop for seconds; a chunk takes a few milliseconds.
   */
  purgeChunkRows?: number;
  /** Final records (sent, delivered, failed, ...) are deleted this long after their last change (default 30 days). */
  finalRetentionMs?: number;
  /** While unhealthy, how often a probe write tries to commit (so health returns without traffic). */
  probeEveryMs?: number;
  /** Told about background work that failed and will be tried again (the purge); the gateway logs it. */
  onError?: (err: unknown, what: string) => void;
}

export class EmbeddedStore implements Store {
  readonly kind = 'embedded';
  private readonly db: Database.Database;
  private readonly sql: Statements;
  private readonly control: ControlStatements;
  private readonly ended: EndedStatements;
  private readonly writes: GroupCommit;
  private readonly clock: Clock;
  private readonly purgeTimer: NodeJS.Timeout;
  private readonly probeEveryMs: number;
  private readonly purgeChunkRows: number;
  private readonly finalRetentionMs: number;
  private probeTimer: NodeJS.Timeout | null = null;
  private readonly onError: (err: unknown, what: string) => void;
  private lastBatchOk = true;
  private closed = false;

  constructor(options: EmbeddedOptions) {
    this.clock = options.clock;
    this.onError = options.onError ?? (() => {});
    this.probeEveryMs = options.probeEveryMs ?? 1_000;
    this.purgeChunkRows = options.purgeChunkRows ?? 5_000;
    this.finalRetentionMs = options.finalRetentionMs ?? 30 * 86_400_000;
    this.db = openDatabase(options.path, { busyTimeoutMs: options.busyTimeoutMs ?? 2_000, exclusive: options.exclusive ?? true });
    try {
      this.sql = new Statements(this.db);
      this.control = new ControlStatements(this.db);
      this.ended = new EndedStatements(this.db);
      this.purge();
    } catch (error) {
      this.db.close();
      throw error;
    }
    this.writes = new GroupCommit(this.db, {
      maxBatch: options.maxBatch ?? 512,
      onBatch: (error) => this.onBatch(error),
    });
    this.purgeTimer = setInterval(() => this.purge(), options.purgeEveryMs ?? 600_000);
    this.purgeTimer.unref();
  }

  /** Transactions committed so far; each holds one or more writes. */
  get commits(): number {
    return this.writes.commits;
  }

  healthy(): boolean {
    return !this.closed && this.lastBatchOk;
  }

  enqueue(message: NewMessage): Promise<EnqueueOutcome> {
    if (this.closed) return Promise.reject(storeClosed());
    // Runs inside the batch, after earlier writes of the same batch: a twin enqueued in the same
    // tick already sees the first one's key.
    return this.writes.submit(() => this.enqueueNow(message), message.idempotencyKey !== null);
  }

  findByIdempotencyKey(tenantId: string, key: string): Promise<{ record: MessageRecord; bodyHash: string | null } | null> {
    return this.read(() => this.keyedNow(tenantId, key, this.clock.nowMs()));
  }

  /** The live original of an idempotency key, if any. */
  private keyedNow(tenantId: string, key: string, nowMs: number): { record: MessageRecord; bodyHash: string | null } | null {
    const known = this.sql.idempotency(tenantId, key);
    if (known === null || known.created_at_ms < nowMs - IDEMPOTENCY_MAX_MS) return null;
    const original = this.sql.byId(known.message_id);
    // The original can only be missing if records were removed by hand; then the key is free.
    return original === null ? null : { record: original, bodyHash: known.body_hash };
  }

  private enqueueNow(message: NewMessage): EnqueueOutcome {
    const nowMs = this.clock.nowMs();
    if (message.idempotencyKey !== null) {
      const known = this.keyedNow(message.tenantId, message.idempotencyKey, nowMs);
      if (known !== null) {
        return known.bodyHash === message.bodyHash ? { kind: 'duplicate', record: known.record } : { kind: 'conflict' };
      }
    }
    const record = initialRecord(message);
    this.sql.insert(record);
    if (message.idempotencyKey !== null) {
      this.sql.rememberKey(message.tenantId, message.idempotencyKey, message.id, message.bodyHash, nowMs);
    }
    return { kind: 'created', record };
  }

  transition(id: string, change: Transition): Promise<boolean> {
    if (this.closed) return Promise.reject(storeClosed());
    // One conditional UPDATE: the ordering rules are in its WHERE clause (see Statements.transition).
    return this.writes.submit(() => this.sql.transition(id, change));
  }

  controlEntries(): Promise<ControlEntry[]> {
    return this.read(() => this.control.all());
  }

  putControl(key: string, value: unknown): Promise<void> {
    if (this.closed) return Promise.reject(storeClosed());
    return this.writes.submit(() => this.control.put(key, value, this.clock.nowMs()));
  }

  unfinished(): Promise<MessageRecord[]> {
    return this.read(() => this.sql.unfinished());
  }

  queueCounts(): Promise<QueueCount[]> {
    return this.read(() => this.sql.queueCounts());
  }

  queuePage(query: QueuePageQuery): Promise<QueuePage> {
    return this.read(() => this.sql.queuePage(query));
  }

  departuresSince(sinceMs: number): Promise<Departure[]> {
    return this.read(() => this.sql.departuresSince(sinceMs));
  }

  owedEndings(tenantId: string, beforeMs: number, limit: number): Promise<string[]> {
    return this.read(() => this.sql.owedEndings(tenantId, beforeMs, limit));
  }

  endingSettled(_tenantId: string, id: string): Promise<void> {
    if (this.closed) return Promise.reject(storeClosed());
    return this.writes.submit(() => this.sql.endingSettled(id));
  }

  listEnded(query: EndedQuery): Promise<EndedPage> {
    return this.read(() => this.ended.list(query));
  }

  requeue(id: string, change: RequeueChange): Promise<MessageRecord | null> {
    if (this.closed) return Promise.reject(storeClosed());
    return this.writes.submit(() => this.ended.requeue(id, change));
  }

  get(tenantId: string, id: string): Promise<MessageRecord | null> {
    return this.read(() => this.sql.byTenantId(tenantId, id));
  }

  findByWamid(wamid: string): Promise<MessageRecord | null> {
    return this.read(() => this.sql.byWamid(wamid));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.purgeTimer);
    this.stopProbe();
    this.writes.flush();
    this.closed = true;
    this.db.close();
  }

  private onBatch(error: Error | null): void {
    this.lastBatchOk = error === null;
    if (error === null) this.stopProbe();
    else this.startProbe();
  }

  /**
   * Ingress refuses writes while unhealthy, so without traffic no commit would ever show that the
   * storage is back: a probe write does, and the first success stops the probe.
   */
  private startProbe(): void {
    if (this.probeTimer !== null || this.closed) return;
    this.probeTimer = setInterval(() => {
      this.writes.submit(() => this.sql.setMeta('probe_at_ms', this.clock.nowMs())).catch(() => {
        // Still failing: healthy() stays false and the next tick tries again.
      });
    }, this.probeEveryMs);
    this.probeTimer.unref();
  }

  private stopProbe(): void {
    if (this.probeTimer === null) return;
    clearInterval(this.probeTimer);
    this.probeTimer = null;
  }

  private read<T>(query: () => T): Promise<T> {
    if (this.closed) return Promise.reject(storeClosed());
    try {
      return Promise.resolve(query());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Forgets idempotency keys past IDEMPOTENCY_MAX_MS and final records past finalRetentionMs, one
   * chunk per turn of the event loop so writes keep flowing in between. Unfinished records are
   * never touched. A failure here is retried next period.
   */
  private purge(): void {
    if (this.closed) return;
    const nowMs = this.clock.nowMs();
    let keys: number;
    let records: number;
    try {
      keys = this.sql.forgetKeysBefore(nowMs - IDEMPOTENCY_MAX_MS, this.purgeChunkRows);
      records = this.sql.forgetFinalBefore(nowMs - this.finalRetentionMs, this.purgeChunkRows);
    } catch (error) {
      // Tried again next period; a locked or failing database also shows in healthy() at the next batch.
      this.onError(error, 'store purge');
      return;
    }
    if (keys === this.purgeChunkRows || records === this.purgeChunkRows) setImmediate(() => this.purge());
  }
}
