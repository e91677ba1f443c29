/**
 * Durable half of Meta webhook deduplication. The in-memory TtlSet forgets on restart; these marks
 * bridge it for the retries that follow a restart (a POST processed but not answered before a
 * crash is retried by Meta within minutes). Kept 1 h by default: a week of marks at 3 statuses per
 * send would be ~10^8 rows, and later copies are still caught downstream by deterministic tenant
 * event ids (consumer.ts) and the store's forward-only transitions.
 *
 * Marks are written in batches off the request path: a mark lost in a crash costs one duplicate
 * event downstream, which consumers must tolerate anyway (delivery is at-least-once), so paying an
 * fsync per Meta POST would buy nothing.
 *
 * The flush runs on a timer, so it never throws: a failed write (disk full, I/O error) is counted,
 * reported through `onError`, and its marks stay buffered for the next flush, up to a bound beyond
 * which the oldest are dropped (each drop costs at most one duplicate downstream, as above).
 */
import type { WebhooksDb } from '../db.js';

export interface SeenMarks {
  /** The subset of `keys` marked earlier and not yet expired. */
  seen(keys: readonly string[]): Promise<Set<string>>;
  /** Records keys as seen at `atMs`; may be buffered. */
  mark(keys: readonly string[], atMs: number): void;
  /** Writes buffered marks and stops timers. */
  close(): void;
}

export interface SqliteSeenMarksOptions {
  /** How long a mark counts (default 1 h). */
  ttlMs?: number;
  /** Buffered marks are written at least this often. */
  flushEveryMs?: number;
  /** Time source for expiry; marks carry the caller's `atMs`. */
  nowMs?: () => number;
  /** Told about a write that failed; the marks stay buffered and the next flush tries again. */
  onError?: (err: unknown, what: string) => void;
  /** Most marks buffered while writes fail (default 100 000); the oldest go first beyond it. */
  maxPendingMarks?: number;
}

export interface SeenMarksStats {
  /** Flushes whose write failed (their marks were kept for the next one). */
  flushFailures: number;
  /** Marks dropped unwritten: buffered past `maxPendingMarks` while writes failed. */
  droppedMarks: number;
  /** Marks waiting for the next flush. */
  pendingMarks: number;
}

const ONE_HOUR_MS = 3_600_000;
/** Expired rows are pruned on one flush in this many. */
const PRUNE_EVERY_FLUSHES = 600;
/** ~100 bytes a mark: ~10 MB buffered at most while the disk refuses writes. */
const MAX_PENDING_MARKS = 100_000;

export class SqliteSeenMarks implements SeenMarks {
  private readonly ttlMs: number;
  private readonly nowMs: () => number;
  private readonly onError: (err: unknown, what: string) => void;
  private readonly maxPending: number;
  private pending: Array<[string, number]> = [];
  private flushes = 0;
  private flushFailures = 0;
  private droppedMarks = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly insertAll: (batch: ReadonlyArray<[string, number]>) => void;
  private readonly lookup;
  private readonly prune;

  constructor(private readonly db: WebhooksDb, options: SqliteSeenMarksOptions = {}) {
    this.ttlMs = options.ttlMs ?? ONE_HOUR_MS;
    this.nowMs = options.nowMs ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.maxPending = options.maxPendingMarks ?? MAX_PENDING_MARKS;
    // Table: ../migrations.ts, applied by openWebhooksDb.
    const insert = db.prepare('INSERT OR IGNORE INTO meta_seen (key, at_ms) VALUES (?, ?)');
    this.insertAll = db.transaction((batch: ReadonlyArray<[string, number]>) => {
      for (const [key, at] of batch) insert.run(key, at);
    });
    // One statement for a whole batch (up to 1000 keys per Meta POST) rather than one per key.
    this.lookup = db.prepare('SELECT key FROM meta_seen WHERE key IN (SELECT value FROM json_each(?)) AND at_ms >= ?').pluck();
    this.prune = db.prepare('DELETE FROM meta_seen WHERE at_ms < ?');
    this.timer = setInterval(() => this.flush(), options.flushEveryMs ?? 200);
    this.timer.unref();
  }

  async seen(keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const cutoffMs = this.nowMs() - this.ttlMs;
    const wanted = new Set(keys);
    for (const [key, at] of this.pending) if (wanted.has(key) && at >= cutoffMs) found.add(key);
    if (keys.length > 0) for (const key of this.lookup.all(JSON.stringify(keys), cutoffMs) as string[]) found.add(key);
    return found;
  }

  mark(keys: readonly string[], atMs: number): void {
    for (const key of keys) this.pending.push([key, atMs]);
    // Only while writes fail does the buffer outgrow one flush interval's worth. Down to 90 %, so
    // the copy of the rest happens once per tenth of the bound, not on every mark.
    if (this.pending.length > this.maxPending) {
      const excess = this.pending.length - Math.floor(this.maxPending * 0.9);
      this.pending.splice(0, excess);
      this.droppedMarks += excess;
    }
  }

  /** Writes the buffered marks (and now and then prunes expired rows). Never throws: see the header. */
  flush(): void {
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      try {
        this.insertAll(batch);
      } catch (err) {
        // The transaction rolled back: every mark of the batch waits for the next flush.
        this.pending = batch;
        this.failed(err, 'Meta webhook dedupe marks flush');
        return;
      }
    }
    if (++this.flushes % PRUNE_EVERY_FLUSHES === 0) {
      try {
        this.prune.run(this.nowMs() - this.ttlMs);
      } catch (err) {
        this.failed(err, 'Meta webhook dedupe marks prune');
      }
    }
  }

  private failed(err: unknown, what: string): void {
    this.flushFailures++;
    this.onError(err, what);
  }

  stats(): SeenMarksStats {
    return { flushFailures: this.flushFailures, droppedMarks: this.droppedMarks, pendingMarks: this.pending.length };
  }

  close(): void {
    clearInterval(this.timer);
    if (this.db.open) this.flush();
  }
}
