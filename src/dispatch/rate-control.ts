/**
 * Adaptive rate of one number after the upstream said "too fast" (130429): multiplicative decrease,
 * additive recovery back to the configured rate (AIMD, as TCP does for the same reason: the real
 * limit is unknown and may be lower than configured, e.g. because inbound traffic counts too).
 *
 * Lazy: no timer; the current rate is computed from the time of the last decrease.
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

export class RateControl {
  /** Rate right after the last decrease; NaN while not decreased. */
  private floorMps = Number.NaN;
  private sinceMs = 0;

  constructor(private readonly options: RateControlOptions = DEFAULT_RATE_CONTROL) {}

  /** Current effective rate given the target (configured mps × headroom). */
  current(targetMps: number, nowMs: number): number {
    if (Number.isNaN(this.floorMps)) return targetMps;
    const elapsedSec = Math.max(0, nowMs - this.sinceMs) / 1000;
    const rate = this.floorMps + targetMps * this.options.recoverPerSec * elapsedSec;
    if (rate >= targetMps) {
      this.floorMps = Number.NaN;
      return targetMps;
    }
    return rate;
  }

  /** Returns false when the decrease was absorbed by the hold time of a recent one. */
  decrease(targetMps: number, nowMs: number): boolean {
    if (!Number.isNaN(this.floorMps) && nowMs - this.sinceMs < this.options.holdMs) return false;
    const cur = this.current(targetMps, nowMs);
    this.floorMps = Math.max(targetMps * this.options.minFraction, cur * this.options.decreaseFactor);
    this.sinceMs = nowMs;
    return true;
  }

  get decreased(): boolean {
    return !Number.isNaN(this.floorMps);
  }
}
