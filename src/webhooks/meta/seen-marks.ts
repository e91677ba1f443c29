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
}

const ONE_HOUR_MS = 3_600_000;
/** Expired rows are pruned on one flush in this many. */
const PRUNE_EVERY_FLUSHES = 600;

export class SqliteSeenMarks implements SeenMarks {
  private readonly ttlMs: number;
  private readonly nowMs: () => number;
  private pending: Array<[string, number]> = [];
  private flushes = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly insert;
  private readonly lookup;
  private readonly prune;

  constructor(private readonly db: WebhooksDb, options: SqliteSeenMarksOptions = {}) {
    this.ttlMs = options.ttlMs ?? ONE_HOUR_MS;
    this.nowMs = options.nowMs ?? Date.now;
    db.exec(`CREATE TABLE IF NOT EXISTS meta_seen (key TEXT PRIMARY KEY, at_ms INTEGER NOT NULL) WITHOUT ROWID;
             CREATE INDEX IF NOT EXISTS meta_seen_at ON meta_seen (at_ms);`);
    this.insert = db.prepare('INSERT OR IGNORE INTO meta_seen (key, at_ms) VALUES (?, ?)');
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
  }

  flush(): void {
    if (this.pending.length > 0) {
      const batch = this.pending;
      this.pending = [];
      this.db.transaction(() => {
        for (const [key, at] of batch) this.insert.run(key, at);
      })();
    }
    if (++this.flushes % PRUNE_EVERY_FLUSHES === 0) this.prune.run(this.nowMs() - this.ttlMs);
  }

  close(): void {
    clearInterval(this.timer);
    if (this.db.open) this.flush();
  }
}
