/**
 * Retry schedule for tenant webhooks: delay before retry n (n = failed attempts so far, from 1).
 * Front-loaded like Svix's, then long gaps, spanning ~7 days in all (as Meta's own retries do), so a
 * tenant down for a weekend still gets everything. Jitter spreads the retries of many events that
 * failed together (an endpoint outage) so the recovering endpoint is not hit by one wave.
 */

export const DEFAULT_RETRY_SCHEDULE_MS: readonly number[] = [
  5_000, 30_000, 120_000, 600_000, 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000,
  24 * 3_600_000, 24 * 3_600_000, 24 * 3_600_000, 24 * 3_600_000, 24 * 3_600_000, 24 * 3_600_000,
];

/**
 * @param failedAttempts attempts that failed so far (>= 1)
 * @param jitter fraction of the delay randomised either way (0.2 → ±20 %)
 * @returns the delay, or null once the schedule is exhausted (the event is dead)
 */
export function retryDelayMs(failedAttempts: number, scheduleMs: readonly number[], jitter: number, random: () => number = Math.random): number | null {
  const base = scheduleMs[failedAttempts - 1];
  if (base === undefined) return null;
  return Math.max(0, Math.round(base * (1 - jitter + 2 * jitter * random())));
}
