/** Delays between attempts. Pure functions of their inputs; randomness is passed in. */

/**
 * Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
 * uniform in [1, min(maxMs, baseMs · 2^(attempt-1))]. Full jitter spreads a burst of failures
 * (an upstream blip hits every in-flight request at once) instead of retrying them in lockstep.
 */
export function retryDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const capMs = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
  return Math.max(1, Math.floor(random() * capMs));
}

/** Longest pair park; 4^6 s ≈ 68 min already means the recipient is not reachable at this rate. */
const MAX_PAIR_PARK_MS = 3_600_000;

/**
 * Meta's rule after 131056 (cloud-api.md §3): wait 4^X s, X = 0, 1, 2 … per consecutive failure.
 * `strikes` counts consecutive 131056s for the pair, starting at 1: 1 s, 4 s, 16 s, 64 s …
 */
export function pairParkMs(strikes: number): number {
  return Math.min(MAX_PAIR_PARK_MS, 1000 * 4 ** Math.max(0, strikes - 1));
}

/** 131049 (per-user marketing cap): retrying within 24 h can extend the suppression (§4). */
export const DEFER_USER_MS = 24 * 3_600_000;

/** 130429: the table's "back off ~1 s" before the same message tries again at the lowered rate. */
export const THROTTLED_RETRY_MS = 1000;

/** 131057 (number in maintenance, e.g. a throughput upgrade): "up to 1 min", then probe (§3, §4). */
export const MAINTENANCE_PAUSE_MS = 60_000;

/** First wait after a Graph rate limit (4, 17, 32, 613, 80007, a bare 429); doubles per consecutive answer. */
export const THROTTLE_BACKOFF_BASE_MS = 1000;
/**
 * Longest wait between probes. These limits are counted over rolling hours (cloud-api.md §7): a
 * probe every 5 min costs at most 12 requests an hour against a budget that is already spent.
 */
export const THROTTLE_BACKOFF_MAX_MS = 300_000;

/**
 * The table's "exponential back-off" for Graph rate limits, which come without a Retry-After
 * (cloud-api.md §1, §4). `strikes` counts consecutive throttled rounds, starting at 1: 1 s, 2 s, 4 s …
 */
export function throttleBackoffMs(strikes: number): number {
  return Math.min(THROTTLE_BACKOFF_MAX_MS, THROTTLE_BACKOFF_BASE_MS * 2 ** Math.min(Math.max(0, strikes - 1), 30));
}
