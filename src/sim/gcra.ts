/**
 * The simulator's own GCRA (generic cell rate algorithm), deliberately independent of the gateway's
 * WASM core: the simulator is the oracle that checks the gateway's pacing, and shared code would
 * share bugs.
 *
 * State per key is one theoretical arrival time (TAT). With emission interval T = 1000 / rate and
 * burst b, a request at time t conforms when max(TAT, t) - t <= (b - 1) * T; it then moves TAT to
 * max(TAT, t) + T. b requests can pass back to back after idle; afterwards one per T.
 */

/** Floating-point slack so a client paced exactly at the limit (e.g. 12.5 ms at 80 mps) is never refused by rounding. */
const EPSILON_MS = 1e-6;

/**
 * Returns the new TAT when a request at `nowMs` conforms, or -1 when it must be refused (then the
 * caller keeps the old TAT: a refusal charges nothing).
 */
export function gcraTake(tatMs: number, nowMs: number, intervalMs: number, burst: number): number {
  const base = tatMs > nowMs ? tatMs : nowMs;
  if (base - nowMs > (burst - 1) * intervalMs + EPSILON_MS) return -1;
  return base + intervalMs;
}

/** Charges unconditionally (inbound messages count against throughput but cannot be refused). */
export function gcraForce(tatMs: number, nowMs: number, intervalMs: number): number {
  return (tatMs > nowMs ? tatMs : nowMs) + intervalMs;
}

/** Milliseconds until a request would conform again (0 when it conforms now). */
export function gcraWaitMs(tatMs: number, nowMs: number, intervalMs: number, burst: number): number {
  const wait = tatMs - nowMs - (burst - 1) * intervalMs;
  return wait > 0 ? wait : 0;
}

/**
 * GCRA keyed by string (the pair limiter: one key per recipient) in a bounded map. Keys whose TAT
 * is in the past hold no debt, so dropping them changes no decision; they are swept when the map
 * reaches its cap, and if every key is still in debt the oldest insertion goes.
 */
export class KeyedGcra {
  private readonly tats = new Map<string, number>();

  constructor(private readonly maxKeys: number) {}

  /** The key's TAT after a send at `nowMs`, or -1 when it must be refused. Charges nothing: see commit(). */
  peek(key: string, nowMs: number, intervalMs: number, burst: number): number {
    return gcraTake(this.tats.get(key) ?? -Infinity, nowMs, intervalMs, burst);
  }

  /** Stores a TAT returned by peek(), once every other check of the send has passed. */
  commit(key: string, tatMs: number, nowMs: number): void {
    if (!this.tats.has(key) && this.tats.size >= this.maxKeys) this.evict(nowMs);
    this.tats.set(key, tatMs);
  }

  take(key: string, nowMs: number, intervalMs: number, burst: number): boolean {
    const next = this.peek(key, nowMs, intervalMs, burst);
    if (next < 0) return false;
    this.commit(key, next, nowMs);
    return true;
  }

  waitMs(key: string, nowMs: number, intervalMs: number, burst: number): number {
    return gcraWaitMs(this.tats.get(key) ?? -Infinity, nowMs, intervalMs, burst);
  }

  get size(): number {
    return this.tats.size;
  }

  clear(): void {
    this.tats.clear();
  }

  private evict(nowMs: number): void {
    for (const [k, tat] of this.tats) if (tat <= nowMs) this.tats.delete(k);
    if (this.tats.size >= this.maxKeys) {
      const oldest = this.tats.keys().next();
      if (!oldest.done) this.tats.delete(oldest.value);
    }
  }
}
