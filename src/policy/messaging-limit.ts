/**
 * The messaging limit (tier): unique recipients of business-initiated sends (templates outside an
 * open service window) in a moving 24 h, per tenant portfolio, across all its numbers
 * (reference/cloud-api.md §4). Counting runs on the core's unique-recipient window
 * (core.unique, scope = tenant id).
 *
 * Giving slots back: a recipient's slot may be held by several admitted messages (the second send
 * to the same user within 24 h is admitted free). `holders` counts, per (tenant, recipient), the
 * admissions that charged or refreshed the slot and have not failed; the slot goes back to the
 * core only when the last holder fails or is released. Entries leave the map 24 h after their last
 * charge (the core has forgotten them by then), so the map is bounded by the sum of the tenants'
 * limits. Kept in refresh order (RecencyMap) so expired entries are swept from the front.
 */
import { RecencyMap } from './recency-map.js';
import type { PolicyStore } from './store.js';
import type { PolicyCore } from './types.js';
import { UNIQUE_WINDOW_MS } from '../core/types.js';

/** Limit used when replaying charges at boot: the charges happened, so all of them must count. */
const REPLAY_LIMIT = 0x7fff_ffff;
const SWEEP_PER_CALL = 4;

interface Holders { count: number; lastMs: number }

/** Holder count of a charge replayed after a restart: releases never bring it to 0. */
const REACHED = Number.POSITIVE_INFINITY;

/** Where the engine counts tier slots: one process's core (TierCharges) or a fleet's (shared-engine.ts). */
export interface TierLedger {
  /** 0 = admitted and held (release() once if the send never happens); > 0 = refused, ms until a slot frees. */
  charge(tenantId: string, recipient: string, limit: number, nowMs: number): number;
  /** The recipient is counted in the moving 24 h and held by a send of this process. */
  holds(tenantId: string, recipient: string): boolean;
  release(tenantId: string, recipient: string, nowMs: number): void;
  /** A charge recorded before a restart (oldest first). */
  replay(tenantId: string, recipient: string, atMs: number): void;
}

export class TierCharges implements TierLedger {
  /** (tenant, recipient) → who holds its slot. */
  private readonly holders = new RecencyMap<Holders>();

  constructor(
    private readonly core: PolicyCore,
    private readonly store: Pick<PolicyStore, 'write'>,
  ) {}

  /** 0 = admitted and held (release() once if the send never happens); > 0 = refused, ms until a slot frees. */
  charge(tenantId: string, recipient: string, limit: number, nowMs: number): number {
    this.sweep(nowMs);
    const waitMs = this.core.unique.charge(tenantId, recipient, limit, nowMs);
    if (waitMs > 0) return waitMs;
    const h = this.holders.get(tenantId, recipient)?.value;
    this.holders.set(tenantId, recipient, { count: (h?.count ?? 0) + 1, lastMs: nowMs });
    this.store.write({ kind: 'charge', tenantId, recipient, atMs: nowMs });
    return 0;
  }

  /** The recipient is counted in the moving 24 h (a send charged it and still holds it). */
  holds(tenantId: string, recipient: string): boolean {
    return this.holders.get(tenantId, recipient) !== undefined;
  }

  /** One holder gives its slot back; the slot frees when no holder is left. */
  release(tenantId: string, recipient: string, nowMs: number): void {
    const entry = this.holders.get(tenantId, recipient);
    if (entry === undefined) return;
    if (--entry.value.count > 0) return;
    this.holders.remove(entry);
    this.core.unique.release(tenantId, recipient, nowMs);
    this.store.write({ kind: 'uncharge', tenantId, recipient });
  }

  /**
   * Re-applies a charge recorded before a restart (oldest first), without writing it again. How
   * many queued messages held it is not kept, so it is marked reached: no release frees it (one
   * message ending unsent must not free a slot another queued message still holds, which could
   * let the tier be exceeded); it leaves with the moving 24 h like any charge.
   */
  replay(tenantId: string, recipient: string, atMs: number): void {
    this.core.unique.charge(tenantId, recipient, REPLAY_LIMIT, atMs);
    this.holders.set(tenantId, recipient, { count: REACHED, lastMs: atMs });
  }

  used(tenantId: string, nowMs: number): number {
    return this.core.unique.count(tenantId, nowMs);
  }

  private sweep(nowMs: number): void {
    for (let i = 0; i < SWEEP_PER_CALL; i++) {
      const first = this.holders.oldest();
      if (first === undefined || first.value.lastMs + UNIQUE_WINDOW_MS > nowMs) return;
      this.holders.remove(first);
    }
  }
}
