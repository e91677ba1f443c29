/**
 * The messaging limit's ledger of one process of a fleet (the TierLedger the engine charges and
 * gives back through). The count itself is the budget script's (redis-budgets.ts); this keeps:
 * - `held`: per (tenant, recipient), how many admissions of this process hold its slot. Redis
 *   counts this process once as a holder, registered by the script when the local count leaves 0
 *   and given back when it returns to 0. It is also the cache in front of Redis: a recipient this
 *   process holds needs no round trip at admission (its charge is only refreshed, in the background,
 *   when the minute changed: the ring's bucket is a minute). Entries leave 24 h after their last
 *   charge, as in TierCharges; bounded by the sum of the tenants' limits.
 * - the tenant's count as the script last answered it, for departure (below).
 *
 * Departure is synchronous (the dispatcher's check before the `sending` commit): a template that
 * left its window after admission is charged against the last count this process heard: refused
 * when that count had reached the limit, otherwise admitted and charged in the background (counted
 * whatever the limit: the message leaves). That count comes from this process's admissions and
 * departures and from a periodic read of every tenant's count (shared-engine.ts), so it is at most
 * a few seconds old: the price of no round trip there. Admission, which does the round trip, is exact.
 */
import { UNIQUE_WINDOW_MS } from '../core/types.js';
import type { TierLedger } from './messaging-limit.js';
import { RecencyMap } from './recency-map.js';
import type { RedisBudgets, TierRelease } from './redis-budgets.js';

const SWEEP_PER_CALL = 4;
/** A charge counted whatever the limit (it happened: the message left, or it is a refresh). */
export const FORCED_LIMIT = 0x7fff_ffff;
/** What departure tells a refused template to wait: one bucket of the moving 24 h. */
const DEPARTURE_RETRY_MS = 60_000;
const MINUTE_MS = 60_000;

interface Held { count: number; lastMs: number }

export class FleetTier implements TierLedger {
  private readonly held = new RecencyMap<Held>();
  /** Tenant → recipients counted in its moving 24 h, as last answered (bounded by tenants). */
  private readonly used = new Map<string, number>();

  constructor(
    private readonly budgets: RedisBudgets,
    private readonly onError: (err: unknown, what: string) => void,
    /** Counts background calls among the writes the store's flush() waits for. */
    private readonly track: <T>(work: Promise<T>) => Promise<T> = (work) => work,
  ) {}

  holds(tenantId: string, recipient: string): boolean {
    return this.held.get(tenantId, recipient) !== undefined;
  }

  /** This process holds the recipient's slot and its charge is inside the window: no round trip needed. */
  holdsNow(tenantId: string, recipient: string, nowMs: number): boolean {
    this.sweep(nowMs);
    return this.holds(tenantId, recipient);
  }

  /**
   * One more admission of this process holds the slot. `registered`: this call's script counted
   * this process as a holder (the local count was 0 when it was sent).
   */
  add(tenantId: string, recipient: string, nowMs: number, registered: boolean): void {
    const h = this.held.get(tenantId, recipient)?.value;
    if (h === undefined) {
      this.held.set(tenantId, recipient, { count: 1, lastMs: nowMs });
      // Found held without a call, then given back while this admission waited on its repeat check.
      if (!registered) this.register(tenantId, recipient, nowMs);
      return;
    }
    // Another admission registered this process meanwhile: Redis counts each process once.
    if (registered) this.background(this.budgets.release(tenantId, recipient, 'hold', undefined, nowMs), 'tier holder');
    else if (Math.floor(h.lastMs / MINUTE_MS) !== Math.floor(nowMs / MINUTE_MS)) {
      // Meta counts the recipient from its latest business-initiated send: refresh the shared charge.
      this.background(this.budgets.charge(tenantId, recipient, { limit: FORCED_LIMIT, hold: false, shadow: false }, nowMs), 'tier refresh');
    }
    this.held.set(tenantId, recipient, { count: h.count + 1, lastMs: nowMs });
  }

  /** Departure's charge (see the header). */
  charge(tenantId: string, recipient: string, limit: number, nowMs: number): number {
    this.sweep(nowMs);
    if (this.holds(tenantId, recipient)) {
      this.add(tenantId, recipient, nowMs, false);
      return 0;
    }
    const used = this.used.get(tenantId) ?? 0;
    if (used >= limit) return DEPARTURE_RETRY_MS;
    // Counted here at once, so a burst of departures does not all pass on one old count.
    this.used.set(tenantId, used + 1);
    this.held.set(tenantId, recipient, { count: 1, lastMs: nowMs });
    this.register(tenantId, recipient, nowMs);
    return 0;
  }

  /** Counts the recipient (whatever the limit: it leaves) with this process as a holder, in the background. */
  private register(tenantId: string, recipient: string, nowMs: number): void {
    this.background(
      this.budgets.charge(tenantId, recipient, { limit: FORCED_LIMIT, hold: true, shadow: false }, nowMs).then(
        (a) => this.noteUsed(tenantId, a.tierUsed),
        (error: unknown) => {
          // Not registered in Redis: a later give-back must not take away another process's hold.
          this.held.delete(tenantId, recipient);
          throw error;
        },
      ),
      'tier charge',
    );
  }

  /** One holder of this process gives back; the shared hold goes when it was the last. */
  release(tenantId: string, recipient: string, nowMs: number): void {
    if (this.releaseLocal(tenantId, recipient)) this.background(this.budgets.release(tenantId, recipient, 'hold', undefined, nowMs), 'tier release');
  }

  /** Drops one local holder; true when it was the last (the caller gives the shared hold back). */
  releaseLocal(tenantId: string, recipient: string): boolean {
    const entry = this.held.get(tenantId, recipient);
    if (entry === undefined) return false;
    if (--entry.value.count > 0) return false;
    this.held.remove(entry);
    return true;
  }

  /** Gives back a tier hold and/or a repeat slot in one script call, in the background. */
  giveBack(tenantId: string, recipient: string, tier: TierRelease, fingerprint: string | undefined, nowMs: number): void {
    if (tier === 'none' && fingerprint === undefined) return;
    this.background(this.budgets.release(tenantId, recipient, tier, fingerprint, nowMs), 'budget release');
  }

  /** The fleet's charges live in Redis: nothing to replay into this process. */
  replay(): void {}

  noteUsed(tenantId: string, used: number): void {
    if (used >= 0) this.used.set(tenantId, used);
  }

  private background(work: Promise<unknown>, what: string): void {
    this.track(work).catch((error: unknown) => this.onError(error, what));
  }

  private sweep(nowMs: number): void {
    for (let i = 0; i < SWEEP_PER_CALL; i++) {
      const first = this.held.oldest();
      if (first === undefined || first.value.lastMs + UNIQUE_WINDOW_MS > nowMs) return;
      this.held.remove(first);
    }
  }
}
