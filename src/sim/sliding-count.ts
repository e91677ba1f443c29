/**
 * Largest number of events seen in any sliding window of `windowMs`: the simulator's measurement
 * of a sender's real rate (e.g. accepts per 1 s per number), independent of how it was limited.
 * A queue of timestamps inside the current window; each event costs O(1) amortised.
 */
export class SlidingMax {
  private times: number[] = [];
  private head = 0;
  max = 0;

  constructor(readonly windowMs: number) {}

  /** Records an event at `nowMs` (non-decreasing) and returns the count in (now - window, now]. */
  add(nowMs: number): number {
    const times = this.times;
    times.push(nowMs);
    const horizon = nowMs - this.windowMs;
    while (times[this.head]! <= horizon) this.head++;
    // Compact occasionally rather than shift() per event: shift is O(n) on large queues.
    if (this.head > 1024 && this.head * 2 > times.length) {
      this.times = times.slice(this.head);
      this.head = 0;
    }
    const count = this.times.length - this.head;
    if (count > this.max) this.max = count;
    return count;
  }
}
