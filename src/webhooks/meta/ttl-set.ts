/**
 * A bounded set of recently seen keys with expiry: the in-memory half of webhook deduplication.
 * A Map keeps insertion order, so the oldest key is always first: eviction at capacity and
 * expiry are both O(1) from the front. Re-adding a key does not refresh it (a delivery id
 * becomes stale at a fixed age, whatever the retries do).
 */
import type { Clock } from '../../clock.js';

export class TtlSet {
  private readonly addedAtMs = new Map<string, number>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {
    if (!(capacity >= 1)) throw new RangeError('TtlSet capacity must be >= 1');
  }

  has(key: string): boolean {
    const at = this.addedAtMs.get(key);
    if (at === undefined) return false;
    if (this.clock.nowMs() - at >= this.ttlMs) {
      this.addedAtMs.delete(key);
      return false;
    }
    return true;
  }

  add(key: string): void {
    if (this.addedAtMs.has(key)) return;
    this.expireFront();
    if (this.addedAtMs.size >= this.capacity) {
      const oldest = this.addedAtMs.keys().next();
      if (!oldest.done) this.addedAtMs.delete(oldest.value);
    }
    this.addedAtMs.set(key, this.clock.nowMs());
  }

  delete(key: string): void {
    this.addedAtMs.delete(key);
  }

  get size(): number {
    return this.addedAtMs.size;
  }

  private expireFront(): void {
    const cutoffMs = this.clock.nowMs() - this.ttlMs;
    for (const [key, at] of this.addedAtMs) {
      if (at > cutoffMs) break;
      this.addedAtMs.delete(key);
    }
  }
}
