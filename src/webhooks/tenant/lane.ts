/**
 * One tenant endpoint's delivery lane.
 *
 * Memory is bounded: at most `window` pending events of the tenant are held, read from the outbox
 * in pages of `pageSize` in `seq` order (`cursorSeq` marks how far). New events are handed over
 * directly when the lane has read everything before them (`caughtUp`) and has room; otherwise they
 * wait in the outbox for a later page. A slow or dead endpoint therefore costs `window` entries of
 * memory, never its whole backlog, and never touches other tenants' lanes.
 *
 * Order: events are grouped by order key (the recipient); only the head of a group may be in
 * flight, and it leaves the group only when delivered or dead. A later event for a recipient is
 * thus never delivered before an earlier one. Distinct recipients proceed in parallel up to
 * `concurrency`.
 *
 * Fairness: a recipient holds at most `perKey` of the window. Its further events are left in the
 * outbox (the key is "overflowing", remembered with the seq it is loaded up to) and read back for
 * that key alone (`pendingOfKey`, never past `cursorSeq`) as its queue drains. Only a group's head
 * can be in flight, so more per key buys nothing; without the cap one recipient whose endpoint
 * handler keeps failing fills the window with its backlog and stalls every other recipient.
 */
import type { Clock } from '../../clock.js';
import type { Outbox, OutboxEntry, OutboxFormat, SettleOutcome } from '../outbox/types.js';
import { CircuitBreaker, type BreakerOptions, type BreakerState } from './breaker.js';
import { retryDelayMs } from './schedule.js';

export interface TenantEndpoint {
  url: string;
  secret: string;
  /** What the tenant receives: sendgate's events (default) or Meta's envelope (meta-format.ts). */
  format?: OutboxFormat;
}

/** Outcome of one HTTP attempt: null when the endpoint answered 2xx, else a short reason (no secrets). */
export type Deliver = (endpoint: TenantEndpoint, entry: OutboxEntry) => Promise<string | null>;

export interface LaneSettings {
  concurrency: number;
  window: number;
  /** Events of one order key held at most. */
  perKey: number;
  pageSize: number;
  retryScheduleMs: readonly number[];
  jitter: number;
  breaker: BreakerOptions;
  /** How long to wait before looking again when the tenant has no webhook configured. */
  unconfiguredRecheckMs: number;
}

export interface LaneCounters {
  attempts: number;
  delivered: number;
  failedAttempts: number;
  dead: number;
  pending: number;
}

export interface LaneDeps {
  tenantId: string;
  outbox: Outbox;
  clock: Clock;
  settings: LaneSettings;
  endpoint: () => TenantEndpoint | undefined;
  deliver: Deliver;
  counters: LaneCounters;
  onError: (err: unknown, what: string) => void;
}

export class EndpointLane {
  readonly breaker: CircuitBreaker;
  private readonly queues = new Map<string, OutboxEntry[]>();
  private readonly busy = new Set<string>();
  private readonly inFlightAttempts = new Set<Promise<void>>();
  private loadedCount = 0;
  /** Keys with events left in the outbox → the seq they are loaded up to. */
  private readonly overflow = new Map<string, number>();
  /** Overflowing keys whose queue has room again: topped up by the next refill. */
  private readonly topUp = new Set<string>();
  private cursorSeq = 0;
  private caughtUp = false;
  private refilling = false;
  /** An offer arrived during a refill: the refill's view may be stale. */
  private offeredDuringRefill = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private closed = false;

  constructor(private readonly deps: LaneDeps) {
    this.breaker = new CircuitBreaker(deps.settings.breaker);
  }

  /**
   * A newly committed event of this tenant. With an outbox shared by a fleet, other processes
   * append too: the entry is taken directly only when its seq follows the last one read (seqs are
   * dense there), otherwise whatever lies between is read from the outbox first.
   */
  offer(entry: OutboxEntry): void {
    if (this.refilling) this.offeredDuringRefill = true;
    else if (this.caughtUp && this.loadedCount < this.deps.settings.window && entry.seq > this.cursorSeq
      && (this.deps.outbox.sharedSeqs !== true || entry.seq === this.cursorSeq + 1)) {
      this.admit(entry);
      this.cursorSeq = entry.seq;
    } else this.caughtUp = false;
    this.pump();
  }

  /** Events were appended by another process: read the outbox again. */
  nudge(): void {
    if (this.refilling) this.offeredDuringRefill = true;
    else this.caughtUp = false;
    this.pump();
  }

  get loaded(): number {
    return this.loadedCount;
  }

  get inFlight(): number {
    return this.inFlightAttempts.size;
  }

  breakerState(): BreakerState {
    return this.breaker.state(this.deps.clock.nowMs());
  }

  /** Stops starting attempts; resolves when those in flight have finished (the sender aborts them). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.inFlightAttempts]);
  }

  pump(): void {
    if (this.closed) return;
    const { settings } = this.deps;
    if (!this.refilling && ((!this.caughtUp && this.loadedCount <= settings.window - settings.pageSize)
      || (this.topUp.size > 0 && this.loadedCount < settings.window))) void this.refill();
    if (this.loadedCount === 0) return;
    const nowMs = this.deps.clock.nowMs();
    const endpoint = this.deps.endpoint();
    if (endpoint === undefined) {
      this.wakeAt(nowMs + settings.unconfiguredRecheckMs);
      return;
    }
    let allowance = this.breaker.allowance(nowMs, settings.concurrency) - this.inFlightAttempts.size;
    if (this.breaker.state(nowMs) === 'open') {
      this.wakeAt(this.breaker.reopensAtMs);
      return;
    }
    let earliestMs = Infinity;
    let earliestKey: string | undefined;
    for (const [key, queue] of this.queues) {
      if (allowance <= 0) break;
      if (this.busy.has(key)) continue;
      const head = queue[0]!;
      if (head.nextAttemptAtMs <= nowMs) {
        this.start(key, head, endpoint, nowMs);
        allowance--;
      } else if (head.nextAttemptAtMs < earliestMs) {
        earliestMs = head.nextAttemptAtMs;
        earliestKey = key;
      }
    }
    // Half-open with nothing due: probe with the next event anyway. Its own backoff may be hours
    // away, and the cool-down, not each event's schedule, is what decides when to test the endpoint.
    if (allowance > 0 && earliestKey !== undefined && this.breaker.state(nowMs) === 'half-open') {
      this.start(earliestKey, this.queues.get(earliestKey)![0]!, endpoint, nowMs);
      return;
    }
    // When the allowance ran out, a finishing attempt pumps again; otherwise wake for the next due head.
    if (earliestMs !== Infinity) this.wakeAt(earliestMs);
  }

  private start(key: string, entry: OutboxEntry, endpoint: TenantEndpoint, nowMs: number): void {
    this.busy.add(key);
    this.breaker.onAttempt(nowMs);
    this.deps.counters.attempts++;
    // An early probe (half-open, before the event's own due time) must not spend the event's retry
    // budget: otherwise a long outage would kill the probe events after a few cool-downs.
    const early = entry.nextAttemptAtMs > nowMs;
    const attempt = this.deps
      .deliver(endpoint, entry)
      .catch((err: unknown) => `error: ${err instanceof Error ? err.name : 'unknown'}`)
      .then((failure) => this.finish(key, entry, failure, early))
      // Never rejects: a throw here would surface as an unhandled rejection and end the process.
      .catch((err: unknown) => this.deps.onError(err, 'webhook attempt outcome'));
    this.inFlightAttempts.add(attempt);
    void attempt.finally(() => {
      this.inFlightAttempts.delete(attempt);
      this.safePump();
    });
  }

  private finish(key: string, entry: OutboxEntry, failure: string | null, early: boolean): void {
    this.busy.delete(key);
    // Closing aborted this attempt: record nothing, the entry stays pending for the next start.
    if (this.closed && failure !== null) return;
    const nowMs = this.deps.clock.nowMs();
    const { counters, settings } = this.deps;
    if (failure === null) {
      this.removeHead(key);
      counters.delivered++;
      counters.pending--;
      // The endpoint is back: events that waited out their backoff behind the open breaker go now.
      if (this.breaker.onSuccess()) for (const queue of this.queues.values()) queue[0]!.nextAttemptAtMs = Math.min(queue[0]!.nextAttemptAtMs, nowMs);
      this.settle(entry, { kind: 'delivered' });
      return;
    }
    counters.failedAttempts++;
    this.breaker.onFailure(nowMs);
    if (early) return;
    const attempts = entry.attempts + 1;
    const delayMs = retryDelayMs(attempts, settings.retryScheduleMs, settings.jitter);
    if (delayMs === null) {
      this.removeHead(key);
      counters.dead++;
      counters.pending--;
      this.settle(entry, { kind: 'dead', attempts, lastError: failure });
      return;
    }
    entry.attempts = attempts;
    entry.nextAttemptAtMs = nowMs + delayMs;
    this.settle(entry, { kind: 'retry', attempts, nextAttemptAtMs: entry.nextAttemptAtMs, lastError: failure });
  }

  private settle(entry: OutboxEntry, outcome: SettleOutcome): void {
    // Not awaited: the lane's memory is the source of truth while running; the outbox catches up
    // within one group commit. A lost settle only means a redelivery after restart.
    this.deps.outbox.settle(entry.tenantId, entry.seq, outcome).catch((err: unknown) => this.deps.onError(err, 'outbox settle'));
  }

  private async refill(): Promise<void> {
    const { settings, outbox, tenantId } = this.deps;
    this.refilling = true;
    this.offeredDuringRefill = false;
    const loadedBefore = this.loadedCount;
    try {
      await this.topUpKeys();
      if (!this.caughtUp && this.loadedCount <= settings.window - settings.pageSize) {
        const limit = Math.min(settings.pageSize, settings.window - this.loadedCount);
        const rows = await outbox.pending(tenantId, this.cursorSeq, limit);
        for (const row of rows) {
          if (row.seq <= this.cursorSeq) continue;
          this.admit(row);
          this.cursorSeq = row.seq;
        }
        this.caughtUp = rows.length < limit;
      }
      // An offer during the read was not taken: the next read finds it.
      if (this.offeredDuringRefill) this.caughtUp = false;
    } catch (err) {
      this.deps.onError(err, 'outbox read');
      this.refilling = false;
      this.caughtUp = false;
      // Not pumped now: that would read again at once, in a loop, while the database fails.
      this.wakeAt(this.deps.clock.nowMs() + 1000);
      return;
    }
    this.refilling = false;
    // A page whose events all stayed in the outbox (their keys at the cap) starts nothing: read
    // the next one on a later turn, so paging through one key's long backlog never hogs the loop.
    if (this.loadedCount === loadedBefore && !this.caughtUp) setImmediate(() => this.safePump());
    else this.safePump();
  }

  /** pump() from a timer or a callback: a failure is reported and retried, never thrown out of the event loop. */
  private safePump(): void {
    try {
      this.pump();
    } catch (err) {
      this.deps.onError(err, 'webhook lane');
      this.wakeAt(this.deps.clock.nowMs() + 1000);
    }
  }

  /**
   * Reads back events of overflowing keys that have room, up to `cursorSeq` (what lies beyond is
   * the main cursor's to read). Runs inside refill: no other read moves `cursorSeq` meanwhile.
   */
  private async topUpKeys(): Promise<void> {
    const { settings, outbox, tenantId } = this.deps;
    for (const key of [...this.topUp]) {
      const room = Math.min(settings.perKey - (this.queues.get(key)?.length ?? 0), settings.window - this.loadedCount);
      if (room <= 0) {
        if (this.loadedCount >= settings.window) return;
        this.topUp.delete(key);
        continue;
      }
      const afterSeq = this.overflow.get(key)!;
      const rows = await outbox.pendingOfKey(tenantId, key, afterSeq, this.cursorSeq, room);
      this.topUp.delete(key);
      for (const row of rows) this.push(row);
      if (rows.length < room) this.overflow.delete(key); // everything of the key up to cursorSeq is held
      else this.overflow.set(key, rows[rows.length - 1]!.seq);
    }
  }

  /** Holds a newly read event, or leaves it in the outbox when its key is at its cap. */
  private admit(entry: OutboxEntry): void {
    const key = entry.orderKey;
    if (this.overflow.has(key)) return;
    const queue = this.queues.get(key);
    if (queue !== undefined && queue.length >= this.deps.settings.perKey) {
      this.overflow.set(key, queue[queue.length - 1]!.seq);
      return;
    }
    this.push(entry);
  }

  private push(entry: OutboxEntry): void {
    const queue = this.queues.get(entry.orderKey);
    if (queue) queue.push(entry);
    else this.queues.set(entry.orderKey, [entry]);
    this.loadedCount++;
  }

  private removeHead(key: string): void {
    const queue = this.queues.get(key);
    if (!queue) return;
    queue.shift();
    this.loadedCount--;
    if (queue.length === 0) this.queues.delete(key);
    if (this.overflow.has(key)) this.topUp.add(key);
  }

  private wakeAt(atMs: number): void {
    if (this.closed) return;
    if (this.timer && this.timerAtMs <= atMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAtMs = Infinity;
      this.safePump();
    }, Math.max(0, atMs - this.deps.clock.nowMs()));
    this.timer.unref();
  }
}
