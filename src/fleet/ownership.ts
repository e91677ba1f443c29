/**
 * Number ownership in a fleet: each number is dispatched by exactly one live process at a time,
 * under a lease with a fencing token (store/redis/leases.ts).
 *
 * Every `leaseTtlMs / 3` each process:
 * 1. beats its heart in the members set (Redis's clock) and reads who is live;
 * 2. renews the leases it holds (a renewal answered with another token, or none, is a loss);
 * 3. takes the free leases of the numbers rendezvous hashing gives it (rendezvous.ts), and hands
 *    over, gracefully, those it holds that now belong to another live member (a member joined).
 * A held lease lets messages leave only until `sent + 2/3 TTL` of its last successful renewal, on
 * this process's monotonic clock: a process that cannot renew (Redis gone, partitioned, stopped
 * with SIGSTOP) stops sending a third of a TTL before the lease can lapse, and the `sending`
 * commit checks the token in Lua for everything else. A dead process's numbers move when its
 * heartbeat and leases lapse: within a TTL and a tick.
 */
import { performance } from 'node:perf_hooks';
import type { RedisKeys } from '../store/redis/keys.js';
import type { RedisLeases } from '../store/redis/leases.js';
import type { Fence } from '../store/types.js';
import type { FleetSeat } from '../dispatch/types.js';
import { preferredOwner } from './rendezvous.js';

export interface OwnedNumber {
  phoneNumberId: string;
  tenantId: string;
}

/** What ownership changes do to the dispatcher (the Dispatcher's adopt/retire/resync). */
export interface OwnershipEffects {
  adopt(numbers: readonly OwnedNumber[]): Promise<void>;
  retire(phoneNumberId: string): Promise<void>;
  /** Leases renewed: lanes held back while renewal was late run again; lost notices are looked for. */
  renewed(): void;
}

export interface OwnershipOptions {
  leases: RedisLeases;
  keys: RedisKeys;
  /** This process's id in the fleet (unique per process start). */
  memberId: string;
  leaseTtlMs: number;
  /** The configured numbers (read at every tick: runtime changes apply). */
  numbers: () => Iterable<OwnedNumber>;
  /** The recipients a number sent to lately (the store's recent departures). */
  recentDepartures: (tenantId: string, phoneNumberId: string, sinceMs: number) => Promise<Array<{ to: string; atMs: number }>>;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

interface Held {
  tenantId: string;
  token: number;
  /** Monotonic ms until which messages may leave. */
  validUntil: number;
  /** Being handed over: no new sends, released once its requests are answered. */
  leaving: boolean;
}

export class NumberOwnership implements FleetSeat {
  private readonly held = new Map<string, Held>();
  private members: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private stopped = false;
  private effects: OwnershipEffects | null = null;

  constructor(private readonly o: OwnershipOptions) {}

  /** Starts ticking; the first tick (heartbeat, first leases) has run when this resolves. */
  async start(effects: OwnershipEffects): Promise<void> {
    this.effects = effects;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), Math.max(50, Math.floor(this.o.leaseTtlMs / 3)));
    this.timer.unref();
  }

  holds(phoneNumberId: string): boolean {
    return this.held.has(phoneNumberId);
  }

  mayDispatch(phoneNumberId: string): boolean {
    const h = this.held.get(phoneNumberId);
    return h !== undefined && !h.leaving && performance.now() < h.validUntil;
  }

  fence(phoneNumberId: string): Fence | undefined {
    const h = this.held.get(phoneNumberId);
    if (h === undefined || h.leaving || performance.now() >= h.validUntil) return undefined;
    // Departures are kept one pair window back; a day bounds what any configured pair rate needs.
    return { token: h.token, departuresKeepMs: DEPARTURES_KEEP_MS };
  }

  heldFence(phoneNumberId: string): Fence | undefined {
    const h = this.held.get(phoneNumberId);
    return h === undefined ? undefined : { token: h.token, departuresKeepMs: 0 };
  }

  recentDepartures(phoneNumberId: string, sinceMs: number): Promise<Array<{ to: string; atMs: number }>> {
    const h = this.held.get(phoneNumberId);
    return h === undefined ? Promise.resolve([]) : this.o.recentDepartures(h.tenantId, phoneNumberId, sinceMs);
  }

  /** The live members at the last heartbeat (sorted). */
  liveMembers(): readonly string[] {
    return this.members;
  }

  ownedCount(): number {
    return this.held.size;
  }

  /** Hands every number over (their requests answered first) and leaves the members set. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearInterval(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.held.keys()].map((id) => this.handOver(id)));
    await this.o.leases.heartbeat(this.o.keys.members(), this.o.memberId, 0).catch(() => undefined);
  }

  private tick(): Promise<void> {
    if (this.ticking !== null || this.stopped) return this.ticking ?? Promise.resolve();
    this.ticking = this.tickOnce()
      .catch((err: unknown) => this.o.log.warn({ err: (err as Error).message }, 'fleet heartbeat failed; numbers stop sending before their leases can lapse'))
      .finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async tickOnce(): Promise<void> {
    const { leases, keys, memberId, leaseTtlMs } = this.o;
    const sentAt = performance.now();
    this.members = await leases.heartbeat(keys.members(), memberId, leaseTtlMs);
    const validUntil = sentAt + (leaseTtlMs * 2) / 3;
    const wanted: OwnedNumber[] = [];
    const configured = new Map<string, string>();
    for (const n of this.o.numbers()) {
      configured.set(n.phoneNumberId, n.tenantId);
      if (!this.held.has(n.phoneNumberId) && preferredOwner(this.members, n.phoneNumberId) === memberId) wanted.push(n);
    }
    // Renew what is held (the acquire script renews the caller's own lease and answers its token).
    const lost: string[] = [];
    await Promise.all([...this.held].map(async ([id, h]) => {
      const token = await leases.acquire(keys.numberLease(h.tenantId, id), keys.numberFence(h.tenantId, id), memberId, leaseTtlMs).catch(() => undefined);
      if (token === undefined) return; // unanswered: validity runs out by itself
      if (token !== h.token) lost.push(id);
      else h.validUntil = validUntil;
    }));
    for (const id of lost) {
      this.o.log.warn({ phoneNumberId: id }, 'lease on the number lost: it stops sending here');
      this.held.delete(id);
      void this.effects?.retire(id);
    }
    // Take what is ours and free.
    const taken: OwnedNumber[] = [];
    await Promise.all(wanted.map(async (n) => {
      const token = await leases.acquire(keys.numberLease(n.tenantId, n.phoneNumberId), keys.numberFence(n.tenantId, n.phoneNumberId), memberId, leaseTtlMs);
      if (token === null) return;
      this.held.set(n.phoneNumberId, { tenantId: n.tenantId, token, validUntil, leaving: false });
      taken.push(n);
    }));
    if (taken.length > 0) {
      this.o.log.info({ numbers: taken.map((n) => n.phoneNumberId), members: this.members.length }, 'took the leases of numbers: dispatching them here');
      await this.effects?.adopt(taken);
    }
    // Hand over what another live member should have (or what is no longer configured as held).
    for (const [id, h] of this.held) {
      if (h.leaving) continue;
      const preferred = preferredOwner(this.members, id);
      // A number moved to another tenant (runtime catalog) is leased again in that tenant's slot.
      if (configured.get(id) === h.tenantId && (preferred === memberId || preferred === undefined)) continue;
      void this.handOver(id);
    }
    this.effects?.renewed();
  }

  /** Stops sending through the number, waits for its requests, then gives the lease up. */
  private async handOver(phoneNumberId: string): Promise<void> {
    const h = this.held.get(phoneNumberId);
    if (h === undefined || h.leaving) return;
    h.leaving = true;
    try {
      await this.effects?.retire(phoneNumberId);
      await this.o.leases.release(this.o.keys.numberLease(h.tenantId, phoneNumberId), this.o.memberId, h.token);
      this.o.log.info({ phoneNumberId }, 'number handed over');
    } catch (err) {
      this.o.log.warn({ phoneNumberId, err: (err as Error).message }, 'handing the number over failed: its lease lapses by itself');
    } finally {
      this.held.delete(phoneNumberId);
    }
  }
}

/** How long a number's recent departures are kept for a handover: longer than any pair window. */
const DEPARTURES_KEEP_MS = 60_000;
