/**
 * Deduplication of Meta webhook deliveries. Meta retries a delivery for days and sends the same
 * update to every app subscribed to the WABA, so the same status or message arrives many times.
 *
 * Keys: statuses by (wamid, status), inbound messages by message id. Quality and capability
 * updates are state snapshots, harmless to apply twice, and are passed through.
 *
 * Protocol per request: `claim` → hand the fresh events on → `commit` (mark seen) or `release`
 * (the consumer failed; Meta's retry must get through). Keys claimed by a request still in
 * progress count as seen, so two concurrent copies of one delivery reach the consumer once.
 */
import type { Clock } from '../../clock.js';
import type { MetaEvent } from './events.js';
import type { SeenMarks } from './seen-marks.js';
import { TtlSet } from './ttl-set.js';

export interface DedupeOptions {
  clock: Clock;
  /** Keys remembered in memory (default 200 000, ~100 bytes each). */
  capacity?: number;
  /** How long memory remembers a key (default 24 h); capacity usually bounds it first. */
  ttlMs?: number;
  /** Durable marks, consulted for keys memory does not know (after a restart). */
  marks?: SeenMarks;
}

export interface Claim {
  fresh: MetaEvent[];
  keys: string[];
  duplicates: number;
}

export function dedupeKey(event: MetaEvent): string | null {
  if (event.kind === 'status') return `s:${event.wamid}:${event.status}`;
  if (event.kind === 'inbound') return `m:${event.messageId}`;
  return null;
}

export class DeliveryDedupe {
  private readonly memory: TtlSet;
  private readonly claimed = new Set<string>();
  private readonly clock: Clock;
  private readonly marks: SeenMarks | undefined;

  constructor(options: DedupeOptions) {
    this.clock = options.clock;
    this.marks = options.marks;
    this.memory = new TtlSet(options.capacity ?? 200_000, options.ttlMs ?? 86_400_000, options.clock);
  }

  async claim(events: readonly MetaEvent[]): Promise<Claim> {
    const candidates: Array<[MetaEvent, string | null]> = [];
    const unknown: string[] = [];
    const inBatch = new Set<string>();
    for (const event of events) {
      const key = dedupeKey(event);
      if (key !== null) {
        if (inBatch.has(key) || this.claimed.has(key) || this.memory.has(key)) continue;
        inBatch.add(key);
        unknown.push(key);
      }
      candidates.push([event, key]);
    }
    const durable = this.marks && unknown.length > 0 ? await this.marks.seen(unknown) : new Set<string>();
    const fresh: MetaEvent[] = [];
    const keys: string[] = [];
    for (const [event, key] of candidates) {
      if (key !== null) {
        // Re-check: a concurrent request may have claimed it while the durable lookup ran.
        if (durable.has(key) || this.claimed.has(key)) {
          if (durable.has(key)) this.memory.add(key);
          continue;
        }
        this.claimed.add(key);
        keys.push(key);
      }
      fresh.push(event);
    }
    return { fresh, keys, duplicates: events.length - fresh.length };
  }

  commit(keys: readonly string[]): void {
    for (const key of keys) {
      this.claimed.delete(key);
      this.memory.add(key);
    }
    if (this.marks && keys.length > 0) this.marks.mark(keys, this.clock.nowMs());
  }

  release(keys: readonly string[]): void {
    for (const key of keys) this.claimed.delete(key);
  }
}
