/**
 * Meta statuses waiting for their wamid, in Redis: shared by a fleet, so a status parked by one
 * process is applied by whichever process sees its wamid next (or sweeps it). Keys (all in the
 * `{wu}` slot: overtaking statuses are rare, a handful at a time) and scripts:
 * src/store/redis/keys.ts, commands/unmatched-*.lua. Bounded by a cap on statuses (oldest dropped)
 * and a TTL on every key, renewed at each park.
 */
import type { RedisKeys } from '../../store/redis/keys.js';
import type { RedisWrites } from '../../store/redis/writes.js';
import type { StatusEvent } from './events.js';
import { parkedKey, type ParkedStatus, type UnmatchedStatuses } from './unmatched-statuses.js';

export interface RedisUnmatchedStatusesOptions {
  writes: RedisWrites;
  keys: RedisKeys;
  /** Statuses parked at most; beyond it the oldest are dropped. */
  maxParked: number;
  /** Keys expire this long after the last park (default 24 h, above the consumer's 6 h maximum age). */
  ttlMs?: number;
}

type ReadReply = Array<[string, string, string]>;

export class RedisUnmatchedStatuses implements UnmatchedStatuses {
  readonly shared = true;
  private count = 0;

  private constructor(private readonly options: RedisUnmatchedStatusesOptions) {}

  /** Reads how many are parked (for `size()`) and resolves with the store. */
  static async open(options: RedisUnmatchedStatusesOptions): Promise<RedisUnmatchedStatuses> {
    const store = new RedisUnmatchedStatuses(options);
    store.count = await options.writes.client.zcard(options.keys.unmatchedAge());
    return store;
  }

  async park(events: readonly StatusEvent[], nowMs: number, nextTryAtMs: number): Promise<number> {
    if (events.length === 0) return 0;
    const args = [String(nowMs), String(nextTryAtMs), String(this.options.maxParked), String(this.options.ttlMs ?? 86_400_000)];
    for (const event of events) args.push(parkedKey(event), JSON.stringify(event));
    const [dropped, parked] = (await this.options.writes.script('unmatched-park', this.allKeys(), args)) as [number, number];
    this.count = parked;
    return dropped;
  }

  async due(nowMs: number, limit: number): Promise<ParkedStatus[]> {
    return this.read('due', String(nowMs), String(limit));
  }

  async ofWamid(wamid: string): Promise<ParkedStatus[]> {
    return this.read('wamid', wamid, '0');
  }

  async nextTryAtMs(): Promise<number | undefined> {
    const [, score] = await this.options.writes.client.zrange(this.options.keys.unmatchedDue(), 0, 0, 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }

  async retryLater(key: string, tries: number, nextTryAtMs: number): Promise<void> {
    await this.update(String(nextTryAtMs), String(tries), key);
  }

  async rewind(nowMs: number): Promise<void> {
    await this.update(String(nowMs), '0', '');
  }

  async remove(key: string): Promise<void> {
    this.count = (await this.options.writes.script('unmatched-remove', this.allKeys(), [key])) as number;
  }

  size(): number {
    return this.count;
  }

  private allKeys(): string[] {
    const { keys } = this.options;
    return [keys.unmatchedRows(), keys.unmatchedDue(), keys.unmatchedAge(), keys.unmatchedWamids()];
  }

  private async update(nextTryAtMs: string, tries: string, key: string): Promise<void> {
    const { keys, writes } = this.options;
    await writes.script('unmatched-update', [keys.unmatchedRows(), keys.unmatchedDue()], [nextTryAtMs, tries, key]);
  }

  private async read(mode: 'due' | 'wamid', at: string, limit: string): Promise<ParkedStatus[]> {
    const { keys, writes } = this.options;
    const rows = (await writes.run('unmatched-read', [keys.unmatchedRows(), keys.unmatchedDue(), keys.unmatchedWamids()], [mode, at, limit])) as ReadReply;
    return rows.map(([key, row, nextTryAtMs]) => {
      // `<receivedAtMs> <tries> <event JSON>`
      const first = row.indexOf(' ');
      const second = row.indexOf(' ', first + 1);
      return {
        key,
        event: JSON.parse(row.slice(second + 1)) as StatusEvent,
        receivedAtMs: Number(row.slice(0, first)),
        tries: Number(row.slice(first + 1, second)),
        nextTryAtMs: Number(nextTryAtMs),
      };
    });
  }
}
