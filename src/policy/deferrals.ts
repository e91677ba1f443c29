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
import type { PolicyStore } from './store.js';

export interface Deferral { undeliverableUntilMs: number; marketingUntilMs: number }

const NONE: Deferral = Object.freeze({ undeliverableUntilMs: 0, marketingUntilMs: 0 });
const SWEEP_PER_CALL = 4;

const key = (tenantId: string, recipient: string): string => `${tenantId}\u0000${recipient}`;

export class Deferrals {
  private readonly byRecipient = new Map<string, Deferral>();

  constructor(
    private readonly store: Pick<PolicyStore, 'write'>,
    private readonly maxEntries: number,
  ) {}

  get(tenantId: string, recipient: string, nowMs: number): Deferral {
    this.sweep(nowMs);
    if (this.byRecipient.size === 0) return NONE;
    return this.byRecipient.get(key(tenantId, recipient)) ?? NONE;
  }

  /** Extends (never shortens) a recipient's suspensions; `persist` false when replaying. */
  set(tenantId: string, recipient: string, change: Partial<Deferral>, persist = true): void {
    const k = key(tenantId, recipient);
    const old = this.byRecipient.get(k) ?? NONE;
    const next: Deferral = {
      undeliverableUntilMs: Math.max(old.undeliverableUntilMs, change.undeliverableUntilMs ?? 0),
      marketingUntilMs: Math.max(old.marketingUntilMs, change.marketingUntilMs ?? 0),
    };
    this.put(k, tenantId, recipient, next, persist);
  }

  /** The user wrote to the business: they are reachable again. */
  clearUndeliverable(tenantId: string, recipient: string): void {
    const k = key(tenantId, recipient);
    const old = this.byRecipient.get(k);
    if (old === undefined || old.undeliverableUntilMs === 0) return;
    this.put(k, tenantId, recipient, { undeliverableUntilMs: 0, marketingUntilMs: old.marketingUntilMs }, true);
  }

  private put(k: string, tenantId: string, recipient: string, d: Deferral, persist: boolean): void {
    this.byRecipient.delete(k);
    this.byRecipient.set(k, d);
    if (persist) this.store.write({ kind: 'deferral', tenantId, recipient, ...d });
    while (this.byRecipient.size > this.maxEntries) this.byRecipient.delete(this.byRecipient.keys().next().value!);
  }

  private sweep(nowMs: number): void {
    for (let i = 0; i < SWEEP_PER_CALL; i++) {
      const first = this.byRecipient.entries().next();
      if (first.done === true) return;
      const d = first.value[1];
      if (d.undeliverableUntilMs > nowMs || d.marketingUntilMs > nowMs) return;
      this.byRecipient.delete(first.value[0]);
    }
  }
}
