/**
 * Durable Meta webhook dedupe marks in Redis, shared by a fleet: a delivery retried by Meta to
 * another process is still recognised. One key per mark (`{ms:<key>}`, spread over a Cluster's
 * slots) holding the ms it was marked; its TTL is the marks' retention, counted from that ms.
 * Expiry is judged on the injected clock (the stored ms), as the SQLite marks do; the Redis TTL
 * only bounds memory.
 *
 * Same buffering as SqliteSeenMarks (seen-marks.ts): marks are written off the request path every
 * `flushEveryMs`, a failed write keeps them for the next flush, bounded. Marks skip the WAIT of the
 * replicas durability: a lost mark costs at most one duplicate downstream, which consumers
 * tolerate anyway (tenant event ids and forward-only transitions catch it).
 */
import type { RedisClient } from '../../store/redis/commands.js';
import type { RedisKeys } from '../../store/redis/keys.js';
import type { SeenMarks, SeenMarksStats } from './seen-marks.js';

export interface RedisSeenMarksOptions {
  client: RedisClient;
  keys: RedisKeys;
  /** How long a mark counts (default 1 h). */
  ttlMs?: number;
  /** Buffered marks are written at least this often (default 200 ms). */
  flushEveryMs?: number;
  nowMs?: () => number;
  onError?: (err: unknown, what: string) => void;
  /** Most marks buffered while writes fail (default 100 000); the oldest go first beyond it. */
  maxPendingMarks?: number;
}

const ONE_HOUR_MS = 3_600_000;

export class RedisSeenMarks implements SeenMarks {
  private readonly ttlMs: number;
  private readonly nowMs: () => number;
  private readonly onError: (err: unknown, what: string) => void;
  private readonly maxPending: number;
  private pending: Array<[string, number]> = [];
  private flushing: Promise<void> | undefined;
  private flushFailures = 0;
  private droppedMarks = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: RedisSeenMarksOptions) {
    this.ttlMs = options.ttlMs ?? ONE_HOUR_MS;
    this.nowMs = options.nowMs ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.maxPending = options.maxPendingMarks ?? 100_000;
    this.timer = setInterval(() => void this.flush(), options.flushEveryMs ?? 200);
    this.timer.unref();
  }

  async seen(keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>();
    const cutoffMs = this.nowMs() - this.ttlMs;
    const wanted = new Set(keys);
    for (const [key, at] of this.pending) if (wanted.has(key) && at >= cutoffMs) found.add(key);
    // One GET per key: keys of a batch sit in different slots; auto-pipelining sends them together.
    const marked = await Promise.all(keys.map((key) => this.options.client.get(this.options.keys.seenMark(key))));
    keys.forEach((key, i) => {
      const at = marked[i];
      if (at !== null && at !== undefined && Number(at) >= cutoffMs) found.add(key);
    });
    return found;
  }

  mark(keys: readonly string[], atMs: number): void {
    for (const key of keys) this.pending.push([key, atMs]);
    if (this.pending.length > this.maxPending) {
      const excess = this.pending.length - Math.floor(this.maxPending * 0.9);
      this.pending.splice(0, excess);
      this.droppedMarks += excess;
    }
  }

  /** Writes the buffered marks; never rejects (a failure keeps them for the next flush). */
  flush(): Promise<void> {
    if (this.flushing !== undefined || this.pending.length === 0) return this.flushing ?? Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    const nowMs = this.nowMs();
    const { client, keys } = this.options;
    this.flushing = Promise.all(batch.map(([key, at]) => {
      const ttlMs = at + this.ttlMs - nowMs;
      // Already past its retention: nothing to keep.
      return ttlMs > 0 ? client.set(keys.seenMark(key), String(at), 'PX', Math.ceil(ttlMs)) : null;
    })).then(
      () => undefined,
      (err: unknown) => {
        // Some may have landed; writing them again is harmless.
        this.pending = batch.concat(this.pending);
        this.flushFailures++;
        this.onError(err, 'Meta webhook dedupe marks flush');
      },
    ).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  stats(): SeenMarksStats {
    return { flushFailures: this.flushFailures, droppedMarks: this.droppedMarks, pendingMarks: this.pending.length };
  }

  /** Stops the timer and writes what is buffered. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    // A flush in progress at close may have left marks that arrived meanwhile.
    await this.flush();
  }
}
