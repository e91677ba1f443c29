/**
 * The run loop: which lanes run, and how far one moves when it runs.
 *
 * A lane runs when something changes (a submit, an answer, a wake-up) and sends while (a) it is
 * not paused, (b) its in-flight count is under the bound and (c) the Pacer lets the next message
 * go at the lane's effective rate (configured mps × headroom, lowered after 130429). When the
 * Pacer says "in N ms", the lane asks the WakeTimer (one heap, one Node timer for everything) to
 * run it again then. Committing a message as `sending`: prepare.ts; the request: request.ts.
 */
import type { RecordedError } from '../store/types.js';
import { laneSlots } from './capacity.js';
import { UNKNOWN_NUMBER_ERROR, type Wake } from './context.js';
import type { Job, Lane } from './lane.js';
import { pacedBurst, rescaleDebt, scaledBurst, startInDebt, targetMps } from './limits.js';
import { checkPair, dropPairAhead, notePairAhead, pairDueInMs, pairOf, takePair } from './pair-rate.js';
import { prepare, requeueNow, storeAllows, unprepare } from './prepare.js';
import { request } from './request.js';
import { isDepartureChecked, isTemplateJob, type DispatchState } from './state.js';
import { departureWaitMs, fillWindow, warmupOf, warmupRoom, warmupWaitMs } from './warmup-pacing.js';

/**
 * How far ahead of its pacing slot a message is committed as `sending`: covers the commit's
 * latency (group commit, a busy event loop) so the request can leave right at its slot.
 */
const PREPARE_AHEAD_MS = 250;

/** The lane's slot bound now: fixed by the caller, else its rate's need at its observed p99 latency. */
function maxInFlight(s: DispatchState, lane: Lane, rateMps: number, burst: number, nowMs: number): number {
  const bound = s.deps.maxInFlightPerNumber
    ?? laneSlots(rateMps, burst, s.latencyP99Ms(lane, nowMs), PREPARE_AHEAD_MS, s.settings.maxInFlightPerNumber);
  lane.inFlightLimit = bound;
  return bound;
}

/** A wake-up from the one timer came due: marks its lane to run (the timer then calls `pump`). */
export function onWake(s: DispatchState, wake: Wake, nowMs: number): void {
  const lane = wake.lane;
  if (wake.kind === 'lane') {
    if (lane.wakeAtMs !== wake.atMs) return; // superseded by an earlier wake-up
    lane.wakeAtMs = Number.POSITIVE_INFINITY;
  } else if (wake.kind === 'job') {
    if (lane.retired) {
      s.forget(lane, wake.job.rec.id);
      return;
    }
    lane.enqueueDue(wake.job);
  } else if (wake.kind === 'sweep') {
    lane.sweepAtMs = Number.POSITIVE_INFINITY;
    if (s.isPaused(lane, nowMs)) for (const job of lane.takeExpired(nowMs)) s.background(() => s.expire(lane, job, null));
  } else if (!lane.release(wake.recipient, nowMs)) {
    return;
  }
  s.touched.add(lane);
}

/**
 * Runs every lane that may move: first lanes waiting for an upstream slot (round robin), then
 * lanes touched by an event. Not re-entrant: work found while pumping is picked up by the loop.
 */
export function pump(s: DispatchState): void {
  if (s.pumping) return;
  s.pumping = true;
  try {
    while (s.touched.size > 0 || (s.blocked.size > 0 && s.sendsInFlight < s.maxSends)) {
      for (const lane of s.blocked) {
        if (s.sendsInFlight >= s.maxSends) break;
        s.unblock(lane, s.deps.clock.nowMs());
        run(s, lane); // may add itself back, at the end
      }
      const batch = [...s.touched];
      s.touched.clear();
      for (const lane of batch) run(s, lane);
    }
  } finally {
    s.pumping = false;
  }
}

function wakeLaneAt(s: DispatchState, lane: Lane, atMs: number): void {
  if (atMs >= lane.wakeAtMs) return;
  lane.wakeAtMs = atMs;
  s.timer.schedule({ atMs, kind: 'lane', lane });
}

/**
 * Moves the lane forward as far as pause, bounds and pacing allow, in two stages:
 * 1. departures: messages already committed as `sending` leave as the Pacer grants tokens;
 * 2. preparation: the next messages are committed as `sending` (a small lookahead), holding a
 *    reserved upstream slot each.
 * Pacing is decided right before departure, after the commit, because a commit's latency
 * varies (group commit, a busy event loop): tokens taken before it let requests leave late and
 * bunched, and the simulator answered 130429 to exactly that.
 */
function run(s: DispatchState, lane: Lane): void {
  if (s.closing) return;
  const { clock, pacer, fleet } = s.deps;
  const nowMs = clock.nowMs();
  // In a fleet: only through a number whose lease is held and safely valid (fleet/ownership.ts
  // runs the lanes again when it is renewed). The owner's sweeps expire what waits meanwhile.
  if (lane.retired || (fleet !== undefined && !fleet.mayDispatch(lane.phoneNumberId))) {
    unprepare(s, lane);
    return;
  }
  if (s.isPaused(lane, nowMs)) {
    unprepare(s, lane);
    // A maintenance pause (131057) ends by itself: the lane runs again then, one probe first.
    if (lane.pausedUntilMs > nowMs && !lane.paused) wakeLaneAt(s, lane, lane.pausedUntilMs);
    if (lane.depth > 0 && lane.sweepAtMs === Number.POSITIVE_INFINITY) {
      lane.sweepAtMs = nowMs + s.sweepMs;
      s.timer.schedule({ atMs: lane.sweepAtMs, kind: 'sweep', lane });
    }
    return;
  }
  const info = s.deps.numbers.get(lane.phoneNumberId);
  if (info === undefined) {
    for (let job = lane.peekReady(nowMs); job !== undefined; job = lane.peekReady(nowMs)) {
      lane.shiftHead();
      failUnknown(s, lane, job, nowMs);
    }
    return;
  }
  lane.tenantId = info.tenantId;
  const target = targetMps(lane, info, s.settings.headroom);
  const rateMps = lane.rate.current(target, nowMs);
  // Slower than the last departure's rate: keep the bucket's debt in tokens (no burst after a slow-down).
  if (rateMps < lane.pacedMps) rescaleDebt(pacer, lane.pacerKey, lane.pacedMps, rateMps, nowMs);
  lane.pacedMps = rateMps;

  const burst = scaledBurst(pacedBurst(lane, info, s.settings.headroom, s.settings.jitterToleranceMs), rateMps, target);
  const warmup = warmupOf(s.deps, lane, nowMs);
  if (lane.startInDebt) {
    lane.startInDebt = false;
    startInDebt(pacer, lane.pacerKey, rateMps, burst, nowMs);
    // A warming-up number's window starts full too: the previous process's departures in it are unknown.
    if (warmup !== null) fillWindow(warmup, lane.warmupKey, nowMs);
  }
  let pacerWaitMs = 0;
  for (let job = lane.prepared.peek(); job !== undefined; job = lane.prepared.peek()) {
    if (job.rec.deadlineAtMs <= nowMs) {
      lane.prepared.shift();
      dropPairAhead(lane, job);
      s.unreserve(lane);
      s.background(() => s.expire(lane, job!, null));
      continue;
    }
    const pair = pairOf(info, job);
    if (pair !== undefined && checkPair(pacer, lane, job, pair, nowMs) > 0) {
      // Only when the pair's config changed since the commit: never early, so back to the queue.
      lane.prepared.shift();
      dropPairAhead(lane, job);
      const j = job;
      s.background(() => requeueNow(s, lane, j));
      s.unreserve(lane);
      continue;
    }
    // Past the opening burst of a busy period: wait for its first answer (arrival-anchor.ts).
    if (lane.anchor.holds) break;
    // With a bucket of 1 the wait is TAT − now: 0 when the bucket is full (the number was idle).
    const debtMs = pacer.checkKey(lane.pacerKey, rateMps, 1, nowMs);
    pacerWaitMs = departureWaitMs(pacer, lane, rateMps, burst, warmup, nowMs);
    if (pacerWaitMs > 0) {
      lane.anchor.waited();
      wakeLaneAt(s, lane, nowMs + pacerWaitMs);
      break;
    }
    if (debtMs <= 0) lane.anchor.start(nowMs, s.answerFloorMs(nowMs));
    // The departure's take moved the TAT one interval on from max(TAT, now).
    if (lane.anchor.opening) lane.anchor.departed(nowMs + Math.max(0, debtMs) + 1000 / rateMps);
    if (pair !== undefined) takePair(pacer, lane, job, pair, nowMs);
    lane.prepared.shift();
    dropPairAhead(lane, job);
    request(s, lane, job, info).catch((err: unknown) => s.deps.log.error({ err: (err as Error).message }, 'dispatch request failed'));
  }
  // Committed messages already wait longer than the lookahead window, or for the busy period's
  // first answer (how long is unknown): commit no more for now. A `sending` commit stays within the
  // look-ahead of its request, which a change of hands relies on (recent-departures.ts).
  if (pacerWaitMs > PREPARE_AHEAD_MS || lane.anchor.holds) return;

  // After a maintenance pause one request goes first, as a probe: the rest wait for its answer.
  const bound = lane.probing ? 1 : maxInFlight(s, lane, rateMps, burst, nowMs);
  // A warming-up number commits no more messages ahead than its window still lets leave.
  const room = warmupRoom(lane, warmup, nowMs);
  // Commit a message ahead only if its token is due within the window, so a message is not
  // `sending` long before it leaves (nor expires while `sending`). With `ahead` messages already
  // committed, the next one's wait is the GCRA wait with `ahead` tokens spoken for, which is
  // exactly `check` with the bucket shrunk by `ahead` (conforms iff TAT − now ≤ (burst−1−ahead)·T).
  const intervalMs = 1000 / rateMps;
  while (lane.inFlight < bound) {
    const job = lane.peekReady(nowMs);
    if (job === undefined) return;
    if (job.rec.deadlineAtMs <= nowMs) {
      lane.shiftHead();
      s.background(() => s.expire(lane, job, null));
      continue;
    }
    const refusal = refusedAtDeparture(s, job, nowMs);
    if (refusal !== null) {
      lane.shiftHead();
      s.background(() => s.reject(lane, job, refusal));
      continue;
    }
    const pair = pairOf(info, job);
    if (pair !== undefined) {
      const pairWaitMs = pairDueInMs(pacer, lane, job, pair, nowMs);
      if (pairWaitMs > 0) {
        lane.shiftHead();
        holdForPair(s, lane, job, nowMs + pairWaitMs);
        continue;
      }
    }
    const ahead = lane.prepared.length + lane.preparing;
    if (ahead >= room) {
      // Window full (room ≤ 0): wake when a slot frees.
      if (ahead === 0) wakeLaneAt(s, lane, nowMs + warmupWaitMs(lane, warmup!, nowMs));
      return;
    }
    const dueInMs = ahead < burst
      ? pacer.checkKey(lane.pacerKey, rateMps, burst - ahead, nowMs)
      : pacer.checkKey(lane.pacerKey, rateMps, 1, nowMs) + (ahead - burst + 1) * intervalMs;
    if (dueInMs > PREPARE_AHEAD_MS) {
      if (ahead === 0) wakeLaneAt(s, lane, nowMs + dueInMs - PREPARE_AHEAD_MS);
      return;
    }
    if (s.sendsInFlight >= s.maxSends) {
      s.block(lane, nowMs);
      return;
    }
    if (!storeAllows(s, nowMs)) {
      // The store is failing: wake when its back-off ends (a probe's answer wakes everyone sooner).
      if (s.storeBackoffUntilMs > nowMs) wakeLaneAt(s, lane, s.storeBackoffUntilMs);
      return;
    }
    lane.shiftHead();
    if (pair !== undefined) notePairAhead(lane, job);
    prepare(s, lane, job).catch((err: unknown) => s.deps.log.error({ err: (err as Error).message }, 'dispatch commit failed'));
  }
}

/**
 * Templates are checked against what changed since admission (the policy engine's
 * departureRefusal): marketing ones (lane priority 1) against opt-outs, 131049 and 131026; all of
 * them against a service window that closed meanwhile (then charged to the messaging limit).
 * Free-form messages are not re-checked (a closed window is Meta's 131047 to answer), except
 * against their broadcast's cancel.
 */
function refusedAtDeparture(s: DispatchState, job: Job, nowMs: number): RecordedError | null {
  const check = s.deps.refuseAtDeparture;
  if (check === undefined || !isDepartureChecked(job)) return null;
  return check(job.rec, nowMs, isTemplateJob(job));
}

/** Holds a message with its recipient until the pair rate lets it go; the lane's other recipients keep flowing. */
function holdForPair(s: DispatchState, lane: Lane, job: Job, untilMs: number): void {
  if (untilMs >= job.rec.deadlineAtMs) {
    s.background(() => s.expire(lane, job, null));
    return;
  }
  const park = lane.park(job.rec.to, untilMs, false);
  lane.depth++;
  lane.hold(park, job);
  s.timer.schedule({ atMs: park.untilMs, kind: 'park', lane, recipient: job.rec.to });
}

function failUnknown(s: DispatchState, lane: Lane, job: Job, nowMs: number): void {
  s.background(async () => {
    await s.transition(job, { state: 'failed', lastError: UNKNOWN_NUMBER_ERROR, atMs: nowMs });
    s.finish(lane, job, { id: job.rec.id, state: 'failed', status: 0, bodyText: '', wamid: null, error: UNKNOWN_NUMBER_ERROR });
  });
}
