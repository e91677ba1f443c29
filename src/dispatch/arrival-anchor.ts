/**
 * Where the upstream's bucket starts: an idle number's busy period is anchored at the first
 * answer, the latest instant its first request can have reached the upstream.
 *
 * Both buckets (ours and the upstream's) restart when a number has been idle: ours at our first
 * departure t0, the upstream's at its first arrival a0. While the number stays backlogged neither
 * empties again, so the upstream stays anchored a0 − t0 after us for the whole backlog, and a
 * request that arrives faster than that by more than the jitter tolerance is refused there. That
 * is what an opening burst does when it reaches the upstream late: on connections still being
 * opened (a TLS handshake at Meta), or at a busy upstream (the simulator, cold on a loaded 2-core
 * machine, first looked at the opening burst of test/dispatch/pacing.test.ts 40–160 ms after it
 * left, at the steady requests after it within a few ms, and refused one).
 *
 * a0 is not known, but it is no later than the first answer r, less the upstream's usual answer
 * time (the floor: what any request spends after arriving and on the way back; 0 until there are
 * answers to learn it from). So after an idle departure the opening burst leaves (what the bucket
 * lets go without waiting), the rest wait for the first answer, and then our bucket is pushed
 * back by r − floor − t0, as if the burst had left when it may have arrived. The wait costs
 * nothing (the bucket refills meanwhile); the push-back costs how much later than usual the
 * first answer came, once per busy period. A single request after idle is no burst: how much
 * later it may arrive than the next ones is what the jitter tolerance is for.
 */
export class ArrivalAnchor {
  private startedMs = Number.NaN;
  private floorMs = 0;
  /** Departures of the opening burst, and our bucket's TAT after the latest. */
  private departures = 0;
  private burstTatMs = Number.NaN;
  private open = false;
  /** The opening burst is spent: a departure had to wait for the bucket. */
  private spent = false;

  /** A departure from an idle bucket: a busy period starts. `floorMs`: the usual answer time so far. */
  start(departedMs: number, floorMs: number): void {
    this.startedMs = departedMs;
    this.floorMs = floorMs;
    this.departures = 0;
    this.open = true;
    this.spent = false;
  }

  /** The busy period's first answer is awaited. */
  get opening(): boolean {
    return this.open;
  }

  /** A departure of the opening burst, with our bucket's TAT after its take. */
  departed(tatAfterMs: number): void {
    this.departures++;
    this.burstTatMs = tatAfterMs;
  }

  /** A departure had to wait for the bucket: what leaves from now on is not the opening burst. */
  waited(): void {
    if (!this.open) return;
    if (this.departures <= 1) this.open = false; // one request is no burst
    else this.spent = true;
  }

  /** True while departures wait for the busy period's first answer: the opening burst is spent. */
  get holds(): boolean {
    return this.open && this.spent;
  }

  /**
   * A request that left at `departedMs` came back (answered, or failed on the way: it may still
   * have arrived). On the busy period's first, the TAT our bucket must be pushed to: the opening
   * burst's, moved to when it may have arrived. Otherwise NaN.
   */
  cameBack(departedMs: number, backMs: number): number {
    if (!this.open || departedMs < this.startedMs) return Number.NaN;
    this.open = false;
    return this.burstTatMs + Math.max(0, backMs - this.floorMs - this.startedMs);
  }
}
