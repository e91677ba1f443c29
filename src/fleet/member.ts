/**
 * One gateway process as a member of a fleet on Redis: its number leases (ownership.ts), the
 * notices it hears from the others (notices.ts) and `Prefer: wait` for messages another member
 * sends (outcomes.ts). server.ts creates it before the dispatcher (which sends only through the
 * numbers it holds), starts it once the dispatcher exists, and stops it before the dispatcher
 * closes, handing every number over.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Dispatcher } from '../dispatch/types.js';
import type { SendOutcome } from '../gateway/ports.js';
import { RedisLeases } from '../store/redis/leases.js';
import type { RedisStore } from '../store/redis/redis-store.js';
import { FleetNotices } from './notices.js';
import { waitForOutcomeInFleet } from './outcomes.js';
import { NumberOwnership, type OwnedNumber, type OwnershipEffects } from './ownership.js';

/**
 * How often owned queues are read again from the start (a wake notice lost while pub/sub was
 * reconnecting) and other processes' numbers are counted for the queue caps.
 */
const RECHECK_MS = 5_000;

/** A number's dispatch lease by default (storage.leaseTtlMs). */
export const DEFAULT_LEASE_TTL_MS = 10_000;

export interface FleetLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Unique per process start: a restarted process is a new member (its old leases lapse or are taken over). */
export function newMemberId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export class FleetMember {
  readonly ownership: NumberOwnership;
  private notices: FleetNotices | null = null;
  /**
   * Per number, its unfinished messages as the store counted them at the last lease renewal: the
   * queue caps of a number another process owns (its backlog is not in this process's lanes).
   */
  private storeCounts = new Map<string, number>();
  private counting = false;
  private checkedAtMs = 0;

  constructor(
    private readonly store: RedisStore,
    readonly memberId: string,
    leaseTtlMs: number,
    numbers: () => Iterable<OwnedNumber>,
    private readonly log: FleetLog,
  ) {
    this.ownership = new NumberOwnership({
      leases: new RedisLeases(store.run), keys: store.keys, memberId, leaseTtlMs, numbers, log,
      recentDepartures: (tenantId, phoneNumberId, sinceMs) => store.recentDepartures(tenantId, phoneNumberId, sinceMs),
    });
  }

  /**
   * Listens for notices, then takes its first leases (the dispatcher adopts them). `follower`
   * (broadcast runners) hears of the same changes: a retire alongside the dispatcher's, whose lane
   * stops at once; an adoption after it, not waited for: the lease tick, which renews every other
   * lease, never waits on its reads of the store (measured: waiting for them broke the pair rate
   * across a handover in test/fleet/handover.test.ts, 3 runs of 3 on a loaded machine).
   */
  async start(dispatcher: Dispatcher, follower?: Pick<OwnershipEffects, 'adopt' | 'retire'>): Promise<void> {
    this.notices = await FleetNotices.open(this.store.client, this.store.keys, this.memberId, {
      stored: (notice) => dispatcher.stored(notice),
      controlChanged: (key) => {
        this.store.controlEntry(key).then(
          (value) => dispatcher.controlChanged(key, value),
          (err: unknown) => this.log.error({ key, err: (err as Error).message }, 'reading a changed control entry failed; it applies when the number changes owner'),
        );
      },
    }, (err) => this.log.warn({ err: (err as Error).message }, 'fleet notices: Redis connection lost; reconnecting'));
    await this.ownership.start({
      adopt: async (numbers) => {
        await dispatcher.adopt(numbers);
        void follower?.adopt(numbers);
      },
      retire: async (phoneNumberId) => {
        await Promise.all([dispatcher.retire(phoneNumberId), follower?.retire(phoneNumberId)]);
      },
      renewed: () => {
        // Reading every owned queue and counting every number costs a few commands per number:
        // not at every renewal (a third of the lease TTL) but every RECHECK_MS.
        const nowMs = Date.now();
        const recheck = nowMs - this.checkedAtMs >= RECHECK_MS;
        dispatcher.resync(recheck);
        if (!recheck) return;
        this.checkedAtMs = nowMs;
        this.recount();
      },
    });
  }

  /** Waiting messages of a number: its lane's count where this process owns it, else the store's at the last renewal. */
  queued(dispatcher: Dispatcher, phoneNumberId: string): number {
    return this.ownership.holds(phoneNumberId) ? dispatcher.queued(phoneNumberId) : (this.storeCounts.get(phoneNumberId) ?? 0);
  }

  private recount(): void {
    if (this.counting) return;
    this.counting = true;
    this.store.queueCounts().then(
      (counts) => {
        this.storeCounts = new Map(counts.map((c) => [c.phoneNumberId, c.count]));
      },
      () => undefined, // kept from the last count; the store's outage is reported elsewhere
    ).finally(() => (this.counting = false));
  }

  waitForOutcome(dispatcher: Dispatcher, id: string, timeoutMs: number): Promise<SendOutcome | null> {
    return waitForOutcomeInFleet({ local: (i, t) => dispatcher.waitForOutcome(i, t), record: (i) => this.store.getById(i) }, id, timeoutMs);
  }

  /** Hands every number over (requests in flight answered first) and leaves the fleet. */
  async stop(): Promise<void> {
    await this.ownership.stop();
    this.notices?.close();
  }
}
