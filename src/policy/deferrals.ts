/**
 * Per-recipient suspensions learnt from Meta's asynchronous failures:
 * - 131026 (undeliverable: not on WhatsApp, old app, terms not accepted): every send to that
 *   recipient is refused for `undeliverableSec`, so a bad contact is never looped on;
 *   an inbound message from the user proves them reachable and lifts it;
 * - 131049 (per-user marketing cap): marketing to that user is refused for `marketingDeferralSec`
 *   (Meta: retrying sooner than 24 h can extend the suppression).
 * Failures are rare next to sends, so the map stays small; it is still bounded (`maxEntries`,
 * oldest first out) and swept of expired entries from the front.
 */
import { RecencyMap } from './recency-map.js';
import type { PolicyStore } from './store.js';

export interface Deferral { undeliverableUntilMs: number; marketingUntilMs: number }

const NONE: Deferral = Object.freeze({ undeliverableUntilMs: 0, marketingUntilMs: 0 });
const SWEEP_PER_CALL = 4;

export class Deferrals {
  /** (tenant, recipient) → its suspensions, in the order they were last set. */
  private readonly byRecipient = new RecencyMap<Deferral>();

  constructor(
    private readonly store: Pick<PolicyStore, 'write'>,
    private readonly maxEntries: number,
  ) {}

  get(tenantId: string, recipient: string, nowMs: number): Deferral {
    this.sweep(nowMs);
    if (this.byRecipient.size === 0) return NONE;
    return this.byRecipient.get(tenantId, recipient)?.value ?? NONE;
  }

  /** Extends (never shortens) a recipient's suspensions; `persist` false when replaying. */
  set(tenantId: string, recipient: string, change: Partial<Deferral>, persist = true): void {
    const old = this.byRecipient.get(tenantId, recipient)?.value ?? NONE;
    const next: Deferral = {
      undeliverableUntilMs: Math.max(old.undeliverableUntilMs, change.undeliverableUntilMs ?? 0),
      marketingUntilMs: Math.max(old.marketingUntilMs, change.marketingUntilMs ?? 0),
    };
    this.put(tenantId, recipient, next, persist);
  }

  /**
   * Takes a recipient's suspensions as the shared store answered them (a fleet's merged view, which
   * may have ended or lifted what this process held), without writing them back.
   */
  learn(tenantId: string, recipient: string, d: Deferral, nowMs: number): void {
    if (d.undeliverableUntilMs > nowMs || d.marketingUntilMs > nowMs) this.put(tenantId, recipient, d, false);
    else this.byRecipient.delete(tenantId, recipient);
  }

  /** The user wrote to the business: they are reachable again. */
  clearUndeliverable(tenantId: string, recipient: string): void {
    const old = this.byRecipient.get(tenantId, recipient)?.value;
    if (old === undefined || old.undeliverableUntilMs === 0) return;
    this.put(tenantId, recipient, { undeliverableUntilMs: 0, marketingUntilMs: old.marketingUntilMs }, true);
  }

  private put(tenantId: string, recipient: string, d: Deferral, persist: boolean): void {
    this.byRecipient.set(tenantId, recipient, d);
    if (persist) this.store.write({ kind: 'deferral', tenantId, recipient, ...d });
    while (this.byRecipient.size > this.maxEntries) this.byRecipient.remove(this.byRecipient.oldest()!);
  }

  private sweep(nowMs: number): void {
    for (let i = 0; i < SWEEP_PER_CALL; i++) {
      const first = this.byRecipient.oldest();
      if (first === undefined) return;
      const d = first.value;
      if (d.undeliverableUntilMs > nowMs || d.marketingUntilMs > nowMs) return;
      this.byRecipient.remove(first);
    }
  }
}
