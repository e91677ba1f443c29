/**
 * The pair rate across a change of hands. A process that starts sending for a number (boot after a
 * restart, or a new fleet owner) has no memory of whom the number just sent to; the store does.
 * Each recipient the number sent to within a pair interval is parked until that interval has
 * passed since the departure, so no recipient hears twice within it across the change.
 */
import type { Lane } from './lane.js';
import type { DispatchState } from './state.js';

/**
 * A `sending` commit leaves at most this long before its request: run-loop's look-ahead (250 ms)
 * plus an event-loop stall of the process that made it. With 500 ms the handover test once saw a
 * 131056 under CI load. Holding a few recipients a little longer after a change of hands costs
 * nothing else.
 */
const COMMIT_TO_DEPARTURE_MS = 1000;

export interface RecentDeparture {
  to: string;
  atMs: number;
}

/** The longest pair interval of any number: how far back boot has to look (0: no pair rate anywhere). */
export function longestPairIntervalMs(s: DispatchState): number {
  let longest = 0;
  for (const info of s.deps.numbers.values()) longest = Math.max(longest, info.pair?.intervalMs ?? 0);
  return longest;
}

/** Parks each recipient of `recent` on the lane until its pair interval (plus the look-ahead) has passed. */
export function holdRecentRecipients(s: DispatchState, lane: Lane, recent: Iterable<RecentDeparture>, nowMs: number): void {
  const intervalMs = s.deps.numbers.get(lane.phoneNumberId)?.pair?.intervalMs ?? 0;
  if (intervalMs <= 0) return;
  // `atMs` is the `sending` commit (or the `sent` one): the request left up to the look-ahead later.
  for (const { to, atMs } of recent) {
    const untilMs = atMs + intervalMs + COMMIT_TO_DEPARTURE_MS;
    if (untilMs <= nowMs) continue;
    lane.park(to, untilMs, false);
    // Its messages are held in the park once met: this releases them when it ends.
    s.timer.schedule({ atMs: untilMs, kind: 'park', lane, recipient: to });
  }
}
