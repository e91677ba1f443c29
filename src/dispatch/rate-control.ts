/**
 * Adaptive rate of one number after the upstream said "too fast" (130429). The configured mps is a
 * ceiling, not a fact: a number's real throughput can be lower (coexistence numbers, inbound
 * traffic counting against it, Meta-side throttles). So:
 * - multiplicative decrease at a refusal, additive recovery after it (AIMD, as TCP does for the
 *   same reason: the real limit is unknown);
 * - the rate that was refused is remembered (`ceilingMps`): recovery stops just below it
 *   (BELOW_CEILING) instead of climbing back into the same refusals every few seconds;
 * - the ceiling is probed rarely: PROBE_AFTER_MS after its last refusal it is raised by a step
 *   every PROBE_EVERY_MS, and forgotten once it reaches the target (the limit was lifted).
 *
 * Lazy: no timer; the current rate is computed from the time of the last decrease. The state is a
 * few numbers (`snapshot`), kept across restarts with the number's control state.
 */
export interface RateControlOptions {
  /** Rate multiplier on each decrease. */
  decreaseFactor: number;
  /** Recovery per second, as a fraction of the target rate. */
  recoverPerSec: number;
  /** Never below this fraction of the target. */
  minFraction: number;
  /** Answers to requests already in flight at the decrease do not compound it within this time. */
  holdMs: number;
}

export const DEFAULT_RATE_CONTROL: RateControlOptions = {
  decreaseFactor: 0.5,
  recoverPerSec: 0.1,
  minFraction: 0.05,
  holdMs: 1000,
};

/** Recovery aims this far below the rate that was refused. */
export const BELOW_CEILING = 0.95;
/** Without a refusal for this long, the learned ceiling starts being probed upward. */
export const PROBE_AFTER_MS = 60_000;
/** Then every this often, it is raised by PROBE_STEP of itself. */
export const PROBE_EVERY_MS = 30_000;
export const PROBE_STEP = 0.05;

/** What is kept across restarts. */
export interface RateSnapshot {
  /** Rate right after the last decrease (null: not decreased). */
  floorMps: number | null;
  sinceMs: number;
  /** The rate the upstream last refused (null: none learned). */
  ceilingMps: number | null;
  ceilingAtMs: number;
}

export class RateControl {
  /** Rate right after the last decrease; NaN while not decreased. */
  private floorMps = Number.NaN;
  private sinceMs = 0;
  /** Learned: the rate at which the upstream last refused; NaN while none. */
  private ceilingMps = Number.NaN;
  private ceilingAtMs = 0;

  constructor(private readonly options: RateControlOptions = DEFAULT_RATE_CONTROL) {}

  /** Current effective rate given the target (configured mps × headroom). */
  current(targetMps: number, nowMs: number): number {
    const cap = Math.min(targetMps, this.cap(targetMps, nowMs));
    if (Number.isNaN(this.floorMps)) return cap;
    const elapsedSec = Math.max(0, nowMs - this.sinceMs) / 1000;
    const rate = this.floorMps + targetMps * this.options.recoverPerSec * elapsedSec;
    if (rate >= cap) {
      this.floorMps = Number.NaN;
      return cap;
    }
    return rate;
  }

  /**
   * The upstream refused at the current rate: remember it, fall back multiplicatively. Returns
   * false when the decrease was absorbed by the hold time of a recent one.
   */
  decrease(targetMps: number, nowMs: number): boolean {
    if (!Number.isNaN(this.floorMps) && nowMs - this.sinceMs < this.options.holdMs) return false;
    const cur = this.current(targetMps, nowMs);
    this.ceilingMps = cur;
    this.ceilingAtMs = nowMs;
    this.floorMps = Math.max(targetMps * this.options.minFraction, cur * this.options.decreaseFactor);
    this.sinceMs = nowMs;
    return true;
  }

  snapshot(): RateSnapshot | null {
    if (Number.isNaN(this.floorMps) && Number.isNaN(this.ceilingMps)) return null;
    return {
      floorMps: Number.isNaN(this.floorMps) ? null : this.floorMps,
      sinceMs: this.sinceMs,
      ceilingMps: Number.isNaN(this.ceilingMps) ? null : this.ceilingMps,
      ceilingAtMs: this.ceilingAtMs,
    };
  }

  restore(snap: RateSnapshot): void {
    this.floorMps = snap.floorMps ?? Number.NaN;
    this.sinceMs = snap.sinceMs;
    this.ceilingMps = snap.ceilingMps ?? Number.NaN;
    this.ceilingAtMs = snap.ceilingAtMs;
  }

  /** Just below the learned ceiling, raised step by step once it has held long enough. */
  private cap(targetMps: number, nowMs: number): number {
    if (Number.isNaN(this.ceilingMps)) return Number.POSITIVE_INFINITY;
    const quietMs = nowMs - this.ceilingAtMs - PROBE_AFTER_MS;
    const steps = quietMs >= 0 ? Math.floor(quietMs / PROBE_EVERY_MS) + 1 : 0;
    const ceiling = this.ceilingMps * (1 + PROBE_STEP * steps);
    if (ceiling * BELOW_CEILING >= targetMps) {
      this.ceilingMps = Number.NaN; // probed up to the target: the limit is gone
      return Number.POSITIVE_INFINITY;
    }
    return ceiling * BELOW_CEILING;
  }
}
