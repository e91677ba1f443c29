/**
 * Warm-up pacing (DESIGN "warm-up: sliding-window caps, delay"): a young number's departures are
 * counted on a core window of its own (`lane.warmupKey`, apart from anything admission counts),
 * and when the window is full the lane sleeps until a slot frees. The window is the cap's plus
 * the jitter budget, so requests bunched on the way never put more than the cap in any window
 * at the upstream.
 */
import type { CoreKey } from '../core/keyhash.js';
import type { Lane } from './lane.js';
import { warmupWindowMs } from './limits.js';
import type { DispatcherDeps, Pacer, WindowCounter } from './types.js';

export interface PacedCap {
  /** The window departures are counted on (cap window + jitter budget). */
  windowMs: number;
  limit: number;
  window: WindowCounter;
}

/** The cap that applies to the lane's number now; null when it is established or the seams are absent. */
export function warmupOf(deps: Pick<DispatcherDeps, 'warmup' | 'window'>, lane: Lane, nowMs: number): PacedCap | null {
  if (deps.warmup === undefined || deps.window === undefined) return null;
  const caps = deps.warmup.capsOf(lane.phoneNumberId, nowMs);
  return caps === null ? null : { windowMs: warmupWindowMs(caps.windowMs), limit: caps.limit, window: deps.window };
}

/** The number's token, and with a cap a slot of its window: 0 = both taken, else ms to wait (nothing taken). */
export function departureWaitMs(pacer: Pacer, lane: Lane, rateMps: number, burst: number, cap: PacedCap | null, nowMs: number): number {
  if (cap === null) return pacer.takeKey(lane.pacerKey, rateMps, burst, nowMs);
  const waitMs = pacer.checkKey(lane.pacerKey, rateMps, burst, nowMs);
  if (waitMs > 0) return waitMs;
  const windowWaitMs = cap.window.takeKey(lane.warmupKey, cap.windowMs, cap.limit, nowMs);
  if (windowWaitMs > 0) return windowWaitMs;
  pacer.takeKey(lane.pacerKey, rateMps, burst, nowMs); // conforms: checked at this instant
  return 0;
}

/** Departures the window still allows now (Infinity without a cap): no more are committed ahead. */
export function warmupRoom(lane: Lane, cap: PacedCap | null, nowMs: number): number {
  return cap === null ? Number.POSITIVE_INFINITY : cap.limit - cap.window.countKey(lane.warmupKey, cap.windowMs, nowMs);
}

/** With the window full: ms until a slot frees (the take refuses, so it counts nothing). */
export function warmupWaitMs(lane: Lane, cap: PacedCap, nowMs: number): number {
  return Math.max(1, cap.window.takeKey(lane.warmupKey, cap.windowMs, cap.limit, nowMs));
}

/**
 * Counts a full window of departures now (a recovered lane: the previous process may have sent
 * its cap in the window that is still running at the upstream). The lane then waits one window.
 */
export function fillWindow(cap: PacedCap, key: CoreKey, nowMs: number): void {
  for (let i = 0; i < cap.limit; i++) if (cap.window.takeKey(key, cap.windowMs, cap.limit, nowMs) > 0) return;
}
