/**
 * In-flight capacity, sized from the work (Little's law: requests in flight = departure rate ×
 * time each spends in flight), not from a constant pool size.
 *
 * A lane holds an upstream slot from its `sending` commit to the end of the request: the commit,
 * the wait for its pacing token (at most PREPARE_AHEAD_MS, run-loop.ts) and the request itself.
 * So a backlogged lane at `rate` needs rate × (commit + look-ahead + upstream latency) slots, plus
 * its whole bucket at once after idle. The latency is a high percentile (p99) of what the lane's
 * upstream answered lately (latency.ts), so a slow tail does not leave the lane short of slots
 * while its bucket has tokens.
 *
 * The sum over all lanes is bounded by `maxInFlight` (config, and what memory allows: every
 * request holds its body until answered). One lane cannot take the others' slots: its own bound
 * is its rate's need, and a lane whose upstream is unhealthy (p99 beyond MAX_SIZING_LATENCY_MS)
 * is not given more slots for it; its messages wait in its own queue instead.
 */
import { getHeapStatistics } from 'node:v8';

/** `sending` commit (group commit, worker round trip) allowance, ms. */
const COMMIT_ALLOWANCE_MS = 50;
/** Rates and latencies move between decisions: 25 % over the estimate. */
const MARGIN = 1.25;
/** Below this a lane gets at least this many slots (a probe, a few retries). */
export const MIN_LANE_SLOTS = 8;
/** Latency the sizing believes at most: beyond it the upstream is failing, not slow. */
export const MAX_SIZING_LATENCY_MS = 2_000;
/** Before any answer: what Meta's Cloud API answers in at worst in normal operation (100–400 ms typical, long tail). */
export const PRIOR_LATENCY_MS = 1_000;
/** Share of the heap in-flight requests may hold at most (their bodies and request state). */
const HEAP_SHARE = 0.25;
/** Per-request overhead besides the body (undici request, handler, headers, socket buffers), bytes. */
const REQUEST_OVERHEAD_BYTES = 16 * 1024;

/**
 * Slots a lane may hold: its bucket plus `rate × time in flight` with a margin.
 * @param lookAheadMs how long before its token a message may be committed (run-loop's PREPARE_AHEAD_MS)
 */
export function laneSlots(rateMps: number, burst: number, latencyP99Ms: number, lookAheadMs: number, maxPerLane: number): number {
  const inFlightMs = COMMIT_ALLOWANCE_MS + lookAheadMs + Math.min(latencyP99Ms, MAX_SIZING_LATENCY_MS);
  const need = burst + Math.ceil(((rateMps * inFlightMs) / 1000) * MARGIN);
  return Math.min(maxPerLane, Math.max(MIN_LANE_SLOTS, need));
}

/**
 * The gateway-wide bound: the configured maximum, lowered to what the heap can hold when every
 * in-flight request carries a body of the largest accepted size.
 */
export function totalSlots(maxInFlight: number, maxBodyBytes: number, heapLimitBytes = getHeapStatistics().heap_size_limit): number {
  const byMemory = Math.floor((heapLimitBytes * HEAP_SHARE) / (maxBodyBytes + REQUEST_OVERHEAD_BYTES));
  return Math.max(MIN_LANE_SLOTS, Math.min(maxInFlight, byMemory));
}
