/**
 * What the admin API and ingress ask of the dispatcher beside sending: pause and resume (per
 * number, per tenant), per-number limit overrides, the expected wait and the lanes' view.
 * Every change runs the affected lanes at once, so it applies to messages already waiting.
 */
import { saveOperator, saveTenant } from './control-state.js';
import type { Lane } from './lane.js';
import { laneView, targetMps } from './limits.js';
import type { DispatchState } from './state.js';
import type { CapacityView, LaneView, LimitsPatch } from './types.js';
import { warmupOf } from './warmup-pacing.js';

function runLanesOf(s: DispatchState, predicate: (lane: Lane) => boolean): void {
  for (const lane of s.lanes.values()) if (predicate(lane)) s.touched.add(lane);
  s.pump();
}

export function setLimits(s: DispatchState, phoneNumberId: string, patch: LimitsPatch): void {
  const lane = s.laneFor(phoneNumberId, '');
  lane.overrides = { ...lane.overrides, ...patch };
  saveOperator(s, lane);
  runLanesOf(s, (l) => l === lane);
}

export function pauseNumber(s: DispatchState, phoneNumberId: string): void {
  const lane = s.laneFor(phoneNumberId, '');
  lane.pause = { by: 'operator', atMs: s.deps.clock.nowMs() };
  saveOperator(s, lane);
  runLanesOf(s, (l) => l === lane);
}

export function resumeNumber(s: DispatchState, phoneNumberId: string): void {
  // In a fleet the number's owner may be another process: the resume is written all the same.
  const lane = s.deps.fleet === undefined ? s.lanes.get(phoneNumberId) : s.laneFor(phoneNumberId, '');
  if (lane === undefined) return;
  lane.pause = null;
  lane.pausedUntilMs = 0; // an operator's resume also ends a maintenance pause (131057) early
  lane.operatorResumedAtMs = s.deps.clock.nowMs();
  saveOperator(s, lane);
  runLanesOf(s, (l) => l === lane);
}

export function pauseTenant(s: DispatchState, tenantId: string, by: 'operator' | 'meta' = 'operator'): void {
  s.pausedTenants.set(tenantId, { by, atMs: s.deps.clock.nowMs() });
  saveTenant(s, tenantId);
  runLanesOf(s, (l) => l.tenantId === tenantId);
}

export function resumeTenant(s: DispatchState, tenantId: string): void {
  s.pausedTenants.delete(tenantId);
  saveTenant(s, tenantId);
  runLanesOf(s, (l) => l.tenantId === tenantId);
}

/** The credentials pause (an upstream 190, invalid token) ends with a new token; other pauses stay. */
export function resumeAfterNewToken(s: DispatchState, tenantId: string): boolean {
  const pause = s.pausedTenants.get(tenantId);
  if (pause?.by !== 'upstream' || pause.code !== 190) return false;
  resumeTenant(s, tenantId);
  return true;
}

/**
 * Expected ms before a message submitted now would leave: what is ahead of it (waiting and in
 * flight) at the effective rate, plus a running pause, plus the hold of its recipient. A priority-0
 * message (authentication, utility, service) has only priority-0 messages ahead of it: a marketing
 * backlog does not delay it, so it is not refused for that backlog's sake.
 */
export function estimateWaitMs(s: DispatchState, phoneNumberId: string, ahead: WaitFor = {}): number {
  const lane = s.lanes.get(phoneNumberId);
  const info = s.deps.numbers.get(phoneNumberId);
  if (lane === undefined || info === undefined) return 0;
  const nowMs = s.deps.clock.nowMs();
  if (lane.paused || s.pausedTenants.has(lane.tenantId)) return Number.POSITIVE_INFINITY;
  let rateMps = lane.rate.current(targetMps(lane, info, s.settings.headroom), nowMs);
  const warmup = warmupOf(s.deps, lane, nowMs);
  if (warmup !== null) rateMps = Math.min(rateMps, (warmup.limit * 1000) / warmup.windowMs);
  const pauseMs = Math.max(0, lane.pausedUntilMs - nowMs);
  // Priority 0 alone: exact when the store holds none of it beyond the window (it is usually short).
  const waiting = ahead.priority === 0 && !lane.paging.more[0] ? lane.fresh[0].length + lane.due[0].length : lane.depth;
  // Pair back-off holds (131056 strikes) only: a 131049 deferral is the policy's to answer (422).
  const park = ahead.to === undefined ? undefined : lane.parks.get(ahead.to);
  const heldMs = park === undefined || park.strikes === 0 ? 0 : Math.max(0, park.untilMs - nowMs);
  return Math.max(pauseMs + ((waiting + lane.inFlight) / rateMps) * 1000, heldMs);
}

/** What the estimate is for: the message's lane priority and recipient, when known. */
export interface WaitFor {
  priority?: 0 | 1;
  to?: string;
}

export function snapshot(s: DispatchState): LaneView[] {
  const nowMs = s.deps.clock.nowMs();
  const views: LaneView[] = [];
  for (const lane of s.lanes.values()) {
    const view = laneView(lane, s.deps.numbers.get(lane.phoneNumberId), s.isPaused(lane, nowMs), s.settings.headroom, nowMs);
    view.pause = lane.pause;
    view.tenantPause = s.pausedTenants.get(lane.tenantId) ?? null;
    views.push(view);
  }
  return views;
}

/** Is the gateway itself the bottleneck? Slots held against the bound and what the lanes want. */
export function capacityView(s: DispatchState): CapacityView {
  let demand = 0;
  for (const lane of s.lanes.values()) if (lane.depth > 0 || lane.inFlight > 0) demand += lane.inFlightLimit;
  const nowMs = s.deps.clock.nowMs();
  return {
    inFlight: s.sendsInFlight,
    capacity: s.maxSends,
    demand,
    blockedLanes: s.blocked.size,
    latencyP99Ms: s.latency.samples() > 0 ? s.latency.quantile(0.99, nowMs) : Number.NaN,
  };
}
