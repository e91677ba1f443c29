/**
 * A lane's numbers at a given moment: the rate and bucket it is paced at, and its public view.
 * Per-number overrides (admin API `setLimits`) win over the number's config, which wins over
 * the dispatch defaults.
 */
import type { CoreKey } from '../core/keyhash.js';
import type { Lane } from './lane.js';
import type { LaneView, NumberInfo, Pacer } from './types.js';

/**
 * Arrival jitter at the upstream that a full burst still tolerates: the default of
 * `dispatch.jitterToleranceMs` for a number's bucket (pacedBurst), and the fixed budget of the
 * pair-rate and warm-up pacing below.
 */
export const JITTER_BUDGET_MS = 200;

/** Configured mps × headroom: what the lane paces at before any 130429 slow-down. */
export function targetMps(lane: Lane, info: NumberInfo, defaultHeadroom: number): number {
  const mps = lane.overrides.mps ?? info.mps;
  const headroom = lane.overrides.headroom ?? defaultHeadroom;
  return mps * headroom;
}

/**
 * The bucket used for pacing is smaller than the number's: headroom applies to it too, and it
 * leaves JITTER_BUDGET_MS worth of tokens unused, so requests that reach the upstream bunched
 * (event-loop stalls, network jitter) right after a full burst still conform there. Without
 * the jitter budget the simulator refused a few sends per run of test/dispatch/pacing.test.ts
 * on a loaded 2-core machine (burst 18 of 20 leaves 50 ms of tolerance).
 */
export function pacedBurst(lane: Lane, info: NumberInfo, defaultHeadroom: number, jitterToleranceMs = JITTER_BUDGET_MS): number {
  const burst = lane.overrides.burst ?? info.burst;
  const mps = lane.overrides.mps ?? info.mps;
  const headroom = lane.overrides.headroom ?? defaultHeadroom;
  return Math.max(1, Math.min(Math.floor(burst * headroom), burst - Math.ceil((mps * jitterToleranceMs) / 1000)));
}

/**
 * The pair rate the lane paces at: the configured interval, with the bucket shrunk by the same
 * jitter budget as the number's (at least one token), so sends bunched on the way still conform
 * at the upstream's pair limit when it is configured like ours.
 */
export function pairPacing(pair: { intervalMs: number; burst: number }): { ratePerSec: number; burst: number; intervalMs: number } {
  const intervalMs = Math.max(1, pair.intervalMs);
  return { ratePerSec: 1000 / intervalMs, intervalMs, burst: Math.max(1, pair.burst - Math.ceil(JITTER_BUDGET_MS / intervalMs)) };
}

/**
 * The window a warming-up lane counts departures on: the cap's window plus the jitter budget, so
 * requests that reach the upstream bunched never put more than the cap in any window there.
 */
export function warmupWindowMs(windowMs: number): number {
  return windowMs + JITTER_BUDGET_MS;
}

export function laneView(lane: Lane, info: NumberInfo | undefined, paused: boolean, defaultHeadroom: number, nowMs: number): LaneView {
  const oldest = lane.oldestCreatedAtMs();
  return {
    phoneNumberId: lane.phoneNumberId,
    tenantId: lane.tenantId,
    depth: lane.depth,
    oldestAgeMs: Number.isFinite(oldest) ? Math.max(0, nowMs - oldest) : 0,
    effectiveMps: info === undefined ? 0 : lane.rate.current(targetMps(lane, info, defaultHeadroom), nowMs),
    configuredMps: lane.overrides.mps ?? info?.mps ?? 0,
    burst: lane.overrides.burst ?? info?.burst ?? 0,
    paused,
    pausedUntilMs: lane.pausedUntilMs > nowMs ? lane.pausedUntilMs : 0,
    inFlight: lane.inFlight,
    parkedRecipients: lane.parkedCount(nowMs),
    inFlightLimit: lane.inFlightLimit,
    latencyP50Ms: lane.latency.samples() > 0 ? lane.latency.quantile(0.5, nowMs) : Number.NaN,
    latencyP99Ms: lane.latency.samples() > 0 ? lane.latency.quantile(0.99, nowMs) : Number.NaN,
  };
}

/**
 * A lane recovered with a backlog starts with a full bucket of debt, as if a burst had just left:
 * the previous process (a restart, a former owner) may have sent one, and the upstream's bucket
 * does not know about our restart. It also spreads the first departures: a burst of hundreds of
 * requests at boot, while connections are still being opened, reached the simulator up to a
 * second apart (a connect beyond the accept backlog is retried after 1 s) and was refused there
 * with 130429. Costs one bucket's worth of time once, never while backlogged.
 */
export function startInDebt(pacer: Pacer, key: CoreKey, rateMps: number, burst: number, nowMs: number): void {
  for (let i = 0; i < burst; i++) if (pacer.takeKey(key, rateMps, burst, nowMs) > 0) return;
}

/**
 * The lane's rate went down (a 130429 slow-down, a lower learned ceiling, an operator's lower
 * mps): the bucket's debt is kept in tokens, not in time. GCRA keeps it as time (TAT − now), and
 * at a slower rate the same time is fewer tokens while the bucket's tolerance grows: halving the
 * rate released about half a bucket at once (308 of 1,000 sends refused in the finding). Taking
 * `debt × (from − to)` extra tokens at the new rate stretches the debt to `debt × from / to`.
 */
export function rescaleDebt(pacer: Pacer, key: CoreKey, fromMps: number, toMps: number, nowMs: number): void {
  const debtMs = pacer.checkKey(key, fromMps, 1, nowMs); // with a bucket of 1, the wait is TAT − now
  if (debtMs <= 0 || toMps >= fromMps) return;
  const extraTokens = Math.round((debtMs * (fromMps - toMps)) / 1000);
  // A bucket large enough that every one of these takes conforms: they only move TAT forward.
  const room = Math.ceil((debtMs * fromMps) / 1000) + extraTokens + 2;
  for (let i = 0; i < extraTokens; i++) if (pacer.takeKey(key, toMps, room, nowMs) > 0) return;
}

/**
 * Moves the bucket's TAT to `tatMs` if it is earlier (arrival-anchor.ts): one take at the rate
 * whose interval is the distance, in a bucket large enough that it conforms.
 */
export function pushTo(pacer: Pacer, key: CoreKey, tatMs: number, nowMs: number): void {
  const debtMs = Math.max(0, pacer.checkKey(key, 1, 1, nowMs)); // with a bucket of 1, the wait is TAT − now
  const lateMs = tatMs - (nowMs + debtMs); // from max(TAT, now): where a take starts
  if (lateMs < 1) return;
  pacer.takeKey(key, 1000 / lateMs, Math.ceil(debtMs / lateMs) + 2, nowMs);
}

/**
 * The bucket at a learned (lower) rate: a number whose real throughput is below its configured
 * mps has a proportionally smaller bucket at the upstream too, so a full configured burst after an
 * idle spell would be refused.
 */
export function scaledBurst(burst: number, rateMps: number, targetRateMps: number): number {
  if (rateMps >= targetRateMps) return burst;
  return Math.max(1, Math.floor((burst * rateMps) / targetRateMps));
}
