/**
 * Where the upstream's bucket may be: a correction for requests that reached the upstream later
 * than they left, measured from their answers.
 *
 * The upstream runs the same GCRA on arrivals that we run on departures. A request that left in
 * slot s (our TAT after its take, less one interval) and arrived at a puts the upstream's TAT
 * a − s after ours, for as long as the number stays backlogged: neither bucket empties again.
 * A later request that arrives faster than that by more than the jitter tolerance is refused
 * there. That is what an idle number's opening burst does: it goes out on connections still being
 * opened (a TLS handshake at Meta; a cold simulator in test/dispatch/pacing.test.ts answered the
 * opening burst in 60–250 ms and the steady requests after it in 2–6 ms, and refused one).
 *
 * An answer at r proves the request arrived by r − floor, where floor is the upstream's usual
 * answer time (what every request spends after arriving and on the way back). So our bucket is
 * pushed back until it is at least as far as the latest of these bounds says the upstream's may
 * be. Requests in the steady part of a backlog leave a whole bucket before their slot and never
 * move it; the cost is a burst's late arrivals, once per busy period.
 */
export class ArrivalAnchor {
  /** The largest answeredMs − slotMs of this busy period. */
  private latestMs = Number.NEGATIVE_INFINITY;
  /** What this busy period pushed our bucket back by so far. */
  private shiftedMs = 0;

  /** A departure from an idle bucket: both buckets restart, and so does this account. */
  restart(): void {
    this.latestMs = Number.NEGATIVE_INFINITY;
    this.shiftedMs = 0;
  }

  /** A departure's slot, given our TAT after its take, without the push-backs so far. */
  slotOf(tatMs: number, intervalMs: number): number {
    return tatMs - intervalMs - this.shiftedMs;
  }

  /** An answer to the request that left in `slotMs`: the ms our bucket must be pushed back by now. */
  answered(slotMs: number, answeredMs: number, floorMs: number): number {
    if (answeredMs - slotMs > this.latestMs) this.latestMs = answeredMs - slotMs;
    const needMs = this.latestMs - floorMs - this.shiftedMs;
    if (needMs < 1) return 0;
    this.shiftedMs += needMs;
    return needMs;
  }
}
