/**
 * The 24 h customer service window per (business number, user): open from the user's last inbound
 * message for 24 h (reference/cloud-api.md §5). Free-form messages outside it fail upstream with
 * 131047; the engine refuses them at admission instead.
 *
 * A window is one timestamp, not a counter, so it lives in a JS map rather than the core: the map
 * is kept in refresh order (RecencyMap), which makes the oldest window the first entry, so
 * expired windows are swept from the front in O(1) each and, past `maxEntries`, the oldest are
 * evicted. After an eviction a miss falls back to the durable copy in the policy store (one
 * indexed SQLite read), so a bounded cache never wrongly refuses a reply.
 */
import { RecencyMap } from './recency-map.js';
import type { PolicyStore } from './store.js';

export const SERVICE_WINDOW_MS = 24 * 3600 * 1000;
/** Expired entries swept per call: keeps the sweep's cost constant per inbound or check. */
const SWEEP_PER_CALL = 4;

export class ServiceWindows {
  /** (phoneNumberId, user) → the user's last inbound time. */
  private readonly lastInboundMs = new RecencyMap<number>();
  private evicted = false;
  /**
   * A time before which the first entry cannot have expired: isOpen() skips the sweep until then
   * (the sweep is on every admission). Any change to
   * the map's front resets it to -Infinity, so the next sweep looks again.
   */
  private sweepFromMs = -Infinity;

  constructor(
    private readonly store: Pick<PolicyStore, 'windowOpenedMs' | 'write'>,
    private readonly maxEntries: number,
  ) {}

  /** Opens or refreshes the window from `atMs`; `persist` false when replaying from the store. */
  open(phoneNumberId: string, user: string, atMs: number, nowMs: number, persist = true): void {
    const previous = this.lastInboundMs.get(phoneNumberId, user)?.value;
    // Late or duplicated webhooks must not move a window back.
    const at = previous !== undefined && previous > atMs ? previous : atMs;
    this.lastInboundMs.set(phoneNumberId, user, at);
    this.sweepFromMs = -Infinity;
    if (persist) this.store.write({ kind: 'window', phoneNumberId, user, atMs: at });
    this.sweep(nowMs);
    while (this.lastInboundMs.size > this.maxEntries) {
      this.lastInboundMs.remove(this.lastInboundMs.oldest()!);
      this.evicted = true;
      this.sweepFromMs = -Infinity;
    }
  }

  /** True when the user wrote to this number within the last 24 h. */
  isOpen(phoneNumberId: string, user: string, nowMs: number): boolean {
    this.sweep(nowMs);
    let at = this.lastInboundMs.get(phoneNumberId, user)?.value;
    if (at === undefined && this.evicted) at = this.store.windowOpenedMs(phoneNumberId, user);
    return at !== undefined && nowMs < at + SERVICE_WINDOW_MS;
  }

  /** Windows held in memory (bounded by maxEntries). */
  size(): number {
    return this.lastInboundMs.size;
  }

  private sweep(nowMs: number): void {
    if (nowMs < this.sweepFromMs) return;
    for (let i = 0; i < SWEEP_PER_CALL; i++) {
      const first = this.lastInboundMs.oldest();
      if (first === undefined) {
        // Nothing to expire until something is opened (open() resets the bound).
        this.sweepFromMs = Infinity;
        return;
      }
      const expiresMs = first.value + SERVICE_WINDOW_MS;
      if (expiresMs > nowMs) {
        this.sweepFromMs = expiresMs;
        return;
      }
      this.lastInboundMs.remove(first);
    }
    // Stopped at the per-call bound with maybe more expired behind: look again next call.
    this.sweepFromMs = -Infinity;
  }
}
