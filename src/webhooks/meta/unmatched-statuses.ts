/**
 * Meta statuses that arrived before the gateway recorded their wamid (Meta's webhook can overtake
 * the `sent` commit), kept until the wamid shows up. Durable in webhooks.db, so a status Meta was
 * answered 200 for survives a restart; bounded by a cap on rows (oldest dropped) and by the
 * consumer's retry schedule and maximum age.
 *
 * The interface is asynchronous so that a fleet can share one (redis-unmatched-statuses.ts). Here
 * parking is one better-sqlite3 transaction per webhook POST: statuses overtake rarely enough that
 * this costs one fsync per POST that has any, not one per status.
 */
import type { WebhooksDb } from '../db.js';
import type { StatusEvent } from './events.js';

export interface ParkedStatus {
  /** `<wamid>:<status>`: a redelivered copy parks nothing new. */
  key: string;
  event: StatusEvent;
  receivedAtMs: number;
  /** Look-ups done so far. */
  tries: number;
  nextTryAtMs: number;
}

export interface UnmatchedStatuses {
  /** True when other processes park and look up in the same store (a fleet on one Redis). */
  readonly shared?: boolean;
  /** Parks the statuses durably (copies already parked are left as they are); resolves with how many of the oldest were dropped to stay under the cap. */
  park(events: readonly StatusEvent[], nowMs: number, nextTryAtMs: number): Promise<number>;
  /** Parked statuses due for a look-up at `nowMs`, earliest first. */
  due(nowMs: number, limit: number): Promise<ParkedStatus[]>;
  /** The statuses parked for one wamid, oldest first (cheap when nothing is parked). */
  ofWamid(wamid: string): Promise<ParkedStatus[]>;
  /** Earliest next look-up, undefined when nothing is parked. */
  nextTryAtMs(): Promise<number | undefined>;
  retryLater(key: string, tries: number, nextTryAtMs: number): Promise<void>;
  /** At start: every parked status gets its whole retry schedule again, from `nowMs` (its age still counts). */
  rewind(nowMs: number): Promise<void>;
  remove(key: string): Promise<void>;
  /** How many are parked, as of this process's last read or write (a shared store's other writers show at the next). */
  size(): number;
}

export const parkedKey = (event: StatusEvent): string => `${event.wamid}:${event.status}`;

interface Row { key: string; event: string; received_at_ms: number; tries: number; next_try_at_ms: number }

export class SqliteUnmatchedStatuses implements UnmatchedStatuses {
  private readonly s;
  private readonly parkAll: (events: readonly StatusEvent[], nowMs: number, nextTryAtMs: number) => number;
  private count: number;

  constructor(db: WebhooksDb, private readonly maxParked: number) {
    // Table: ../migrations.ts (version 2), applied by openWebhooksDb.
    this.s = {
      insert: db.prepare('INSERT OR IGNORE INTO meta_unmatched_statuses (key, event, received_at_ms, next_try_at_ms) VALUES (?, ?, ?, ?)'),
      dropOldest: db.prepare(`DELETE FROM meta_unmatched_statuses WHERE key IN
        (SELECT key FROM meta_unmatched_statuses ORDER BY received_at_ms LIMIT ?)`),
      // Keys are `<wamid>:<status>`: one wamid's rows are a range of the primary key (';' follows ':').
      ofWamid: db.prepare('SELECT * FROM meta_unmatched_statuses WHERE key > ? AND key < ? ORDER BY received_at_ms'),
      due: db.prepare('SELECT * FROM meta_unmatched_statuses WHERE next_try_at_ms <= ? ORDER BY next_try_at_ms LIMIT ?'),
      next: db.prepare('SELECT min(next_try_at_ms) FROM meta_unmatched_statuses').pluck(),
      retry: db.prepare('UPDATE meta_unmatched_statuses SET tries = ?, next_try_at_ms = ? WHERE key = ?'),
      remove: db.prepare('DELETE FROM meta_unmatched_statuses WHERE key = ?'),
      rewind: db.prepare('UPDATE meta_unmatched_statuses SET tries = 0, next_try_at_ms = ?'),
      count: db.prepare('SELECT count(*) FROM meta_unmatched_statuses').pluck(),
    };
    this.count = this.s.count.get() as number;
    this.parkAll = db.transaction((events: readonly StatusEvent[], nowMs: number, nextTryAtMs: number) => {
      for (const event of events) this.count += this.s.insert.run(parkedKey(event), JSON.stringify(event), nowMs, nextTryAtMs).changes;
      const over = this.count - this.maxParked;
      if (over <= 0) return 0;
      this.count -= this.s.dropOldest.run(over).changes;
      return over;
    });
  }

  async park(events: readonly StatusEvent[], nowMs: number, nextTryAtMs: number): Promise<number> {
    const before = this.count;
    try {
      return this.parkAll(events, nowMs, nextTryAtMs);
    } catch (error) {
      this.count = before; // rolled back
      throw error;
    }
  }

  async ofWamid(wamid: string): Promise<ParkedStatus[]> {
    if (this.count === 0) return [];
    return (this.s.ofWamid.all(`${wamid}:`, `${wamid};`) as Row[]).map(toParked);
  }

  async due(nowMs: number, limit: number): Promise<ParkedStatus[]> {
    return (this.s.due.all(nowMs, limit) as Row[]).map(toParked);
  }

  async nextTryAtMs(): Promise<number | undefined> {
    return (this.s.next.get() as number | null) ?? undefined;
  }

  async retryLater(key: string, tries: number, nextTryAtMs: number): Promise<void> {
    this.s.retry.run(tries, nextTryAtMs, key);
  }

  async rewind(nowMs: number): Promise<void> {
    this.s.rewind.run(nowMs);
  }

  async remove(key: string): Promise<void> {
    this.count -= this.s.remove.run(key).changes;
  }

  size(): number {
    return this.count;
  }
}

const toParked = (r: Row): ParkedStatus =>
  ({ key: r.key, event: JSON.parse(r.event) as StatusEvent, receivedAtMs: r.received_at_ms, tries: r.tries, nextTryAtMs: r.next_try_at_ms });

/** The same in memory: a consumer without a webhooks database (tests, tools). Lost at restart. */
export class MemoryUnmatchedStatuses implements UnmatchedStatuses {
  private readonly rows = new Map<string, ParkedStatus>();
  constructor(private readonly maxParked: number) {}

  async park(events: readonly StatusEvent[], nowMs: number, nextTryAtMs: number): Promise<number> {
    for (const event of events) {
      const key = parkedKey(event);
      if (!this.rows.has(key)) this.rows.set(key, { key, event, receivedAtMs: nowMs, tries: 0, nextTryAtMs });
    }
    let dropped = 0;
    for (const key of this.rows.keys()) {
      if (this.rows.size <= this.maxParked) break;
      this.rows.delete(key); // insertion order: oldest first
      dropped++;
    }
    return dropped;
  }

  async ofWamid(wamid: string): Promise<ParkedStatus[]> {
    if (this.rows.size === 0) return [];
    return [...this.rows.values()].filter((r) => r.event.wamid === wamid);
  }

  async due(nowMs: number, limit: number): Promise<ParkedStatus[]> {
    return [...this.rows.values()].filter((r) => r.nextTryAtMs <= nowMs).sort((a, b) => a.nextTryAtMs - b.nextTryAtMs).slice(0, limit);
  }

  async nextTryAtMs(): Promise<number | undefined> {
    let min: number | undefined;
    for (const r of this.rows.values()) if (min === undefined || r.nextTryAtMs < min) min = r.nextTryAtMs;
    return min;
  }

  async retryLater(key: string, tries: number, nextTryAtMs: number): Promise<void> {
    const row = this.rows.get(key);
    if (row) Object.assign(row, { tries, nextTryAtMs });
  }

  async rewind(nowMs: number): Promise<void> {
    for (const row of this.rows.values()) Object.assign(row, { tries: 0, nextTryAtMs: nowMs });
  }

  async remove(key: string): Promise<void> {
    this.rows.delete(key);
  }

  size(): number {
    return this.rows.size;
  }
}
