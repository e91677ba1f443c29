/**
 * From a durably queued message to delivery at the upstream.
 *
 * Per number a Lane (lane.ts) orders the waiting messages; a lane runs when something changes
 * (a submit, an answer, a wake-up) and sends while (a) it is not paused, (b) its in-flight count
 * is under the bound and (c) the Pacer lets the next message go at the lane's effective rate
 * (configured mps × headroom, lowered after 130429). When the Pacer says "in N ms", the lane asks
 * the WakeTimer (one heap, one Node timer for everything) to run it again then.
 *
 * On top of the number's rate: the pair rate holds a recipient that is ahead (pair-rate.ts), a
 * warming-up number's lane sleeps while its window is full (warmup-pacing.ts), and a number in
 * maintenance (131057) is paused for a while, then probed with one request.
 *
 * Every state change goes through `store.transition`: `sending` is committed before the request,
 * `sent` with the wamid after. Reactions to upstream answers: reactions.ts.
 */
import type { MessageRecord } from '../store/types.js';
import { classify } from '../upstream/classify.js';
import type { UpstreamResult } from '../upstream/types.js';
import { DEADLINE_ERROR, UNKNOWN_NUMBER_ERROR, isTemplateBody, type DispatchContext, type Wake } from './context.js';
import { Lane, type Job } from './lane.js';
import { laneView, pacedBurst, targetMps } from './limits.js';
import { OutcomeWaiters } from './outcome-waiters.js';
import { checkPair, dropPairAhead, notePairAhead, pairDueInMs, pairOf, takePair } from './pair-rate.js';
import { react } from './reactions.js';
import type { DispatchEvent, Dispatcher, DispatcherDeps, LaneView, LimitsPatch, NumberInfo } from './types.js';
import { WakeTimer } from './wake-timer.js';
import { departureWaitMs, warmupOf, warmupRoom, warmupWaitMs } from './warmup-pacing.js';

const STORE_RETRY_MS = 1000;
/**
 * How far ahead of its pacing slot a message is committed as `sending`: covers the commit's
 * latency (group commit, a busy event loop) so the request can leave right at its slot.
 */
const PREPARE_AHEAD_MS = 250;
const DEFAULT_SWEEP_MS = 60_000;
/** The default undici pool size (upstream.connections 64 × pipelining 1). */
const DEFAULT_MAX_SENDS = 64;

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { clock, pacer, numbers, log } = deps;
  const settings = deps.config.dispatch;
  const random = deps.random ?? Math.random;
  const lanes = new Map<string, Lane>();
  /** Ids waiting or in flight: duplicates from submit+recover are ignored. */
  const known = new Set<string>();
  const pausedTenants = new Set<string>();
  const waiters = new OutcomeWaiters();
  const touched = new Set<Lane>();
  /** Upstream requests plus store bookkeeping still running: close() waits for these. */
  let inFlightTotal = 0;
  /** Upstream requests only: gated by `maxSends`. */
  let sendsInFlight = 0;
  const sweepMs = deps.pausedSweepMs ?? DEFAULT_SWEEP_MS;
  const maxSends = deps.maxInFlightTotal ?? (deps.config.upstream ? deps.config.upstream.connections * deps.config.upstream.pipelining : DEFAULT_MAX_SENDS);
  /** Lanes with a ready message that found every upstream slot taken, in arrival order (round robin). */
  const blocked = new Set<Lane>();
  let closing = false;
  let pumping = false;
  let drained: (() => void) | null = null;

  const timer = new WakeTimer<Wake>(clock, onWake, pump);

  const emit = (event: DispatchEvent): void => {
    if (deps.onEvent === undefined) return;
    try {
      deps.onEvent(event);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'dispatch event listener threw');
    }
  };

  const ctx: DispatchContext = {
    deps,
    random,
    pausedTenants,
    timer,
    async transition(job, change) {
      try {
        if (await deps.store.transition(job.rec.id, change)) return 'applied';
        log.warn({ id: job.rec.id, state: change.state }, 'store refused the transition: message unknown or already final');
        return 'refused';
      } catch (err) {
        log.error({ id: job.rec.id, state: change.state, err: (err as Error).message }, 'store transition failed');
        return 'error';
      }
    },
    finish(lane, job, outcome) {
      known.delete(job.rec.id);
      waiters.settle(outcome);
      emit({
        type: 'final',
        id: job.rec.id,
        tenantId: job.rec.tenantId,
        phoneNumberId: lane.phoneNumberId,
        state: outcome.state,
        to: job.rec.to,
        template: isTemplateBody(job.rec.body),
        latencyMs: clock.nowMs() - job.rec.createdAtMs,
      });
    },
    async expire(lane, job, lastError) {
      const error = lastError ?? DEADLINE_ERROR;
      await ctx.transition(job, { state: 'expired', atMs: clock.nowMs(), lastError: error });
      ctx.finish(lane, job, { id: job.rec.id, state: 'expired', status: 0, bodyText: '', wamid: null, error });
    },
    targetMps: (lane, info) => targetMps(lane, info, settings.headroom),
    requeue(lane, job, delayMs) {
      lane.depth++;
      if (delayMs <= 0) {
        lane.enqueueDue(job);
        touched.add(lane);
      } else {
        timer.schedule({ atMs: clock.nowMs() + delayMs, kind: 'job', lane, job });
      }
    },
  };

  function laneFor(phoneNumberId: string, tenantId: string): Lane {
    let lane = lanes.get(phoneNumberId);
    if (lane === undefined) {
      lane = new Lane(phoneNumberId, numbers.get(phoneNumberId)?.tenantId ?? tenantId);
      lanes.set(phoneNumberId, lane);
    }
    return lane;
  }

  function maxInFlight(rateMps: number): number {
    if (deps.maxInFlightPerNumber !== undefined) return deps.maxInFlightPerNumber;
    return Math.min(1024, Math.max(8, Math.ceil(rateMps)));
  }

  function isPaused(lane: Lane, nowMs: number): boolean {
    return lane.paused || pausedTenants.has(lane.tenantId) || lane.pausedUntilMs > nowMs;
  }


  function add(rec: MessageRecord): void {
    if (known.has(rec.id)) return;
    known.add(rec.id);
    const lane = laneFor(rec.phoneNumberId, rec.tenantId);
    const job: Job = { rec, attempts: rec.attempts, throttled: 0 };
    lane.depth++;
    const nowMs = clock.nowMs();
    if (rec.notBeforeMs > nowMs) timer.schedule({ atMs: rec.notBeforeMs, kind: 'job', lane, job });
    else lane.enqueueFresh(job);
    touched.add(lane);
  }

  function onWake(wake: Wake, nowMs: number): void {
    const lane = wake.lane;
    if (wake.kind === 'lane') {
      if (lane.wakeAtMs !== wake.atMs) return; // superseded by an earlier wake-up
      lane.wakeAtMs = Number.POSITIVE_INFINITY;
    } else if (wake.kind === 'job') {
      lane.enqueueDue(wake.job);
    } else if (wake.kind === 'sweep') {
      lane.sweepAtMs = Number.POSITIVE_INFINITY;
      if (isPaused(lane, nowMs)) for (const job of lane.takeExpired(nowMs)) background(() => ctx.expire(lane, job, null));
    } else if (!lane.release(wake.recipient, nowMs)) {
      return;
    }
    touched.add(lane);
  }

  /**
   * Runs every lane that may move: first lanes waiting for an upstream slot (round robin), then
   * lanes touched by an event. Not re-entrant: work found while pumping is picked up by the loop.
   */
  function pump(): void {
    if (pumping) return;
    pumping = true;
    try {
      while (touched.size > 0 || (blocked.size > 0 && sendsInFlight < maxSends)) {
        for (const lane of blocked) {
          if (sendsInFlight >= maxSends) break;
          blocked.delete(lane);
          run(lane); // may add itself back, at the end
        }
        const batch = [...touched];
        touched.clear();
        for (const lane of batch) run(lane);
      }
    } finally {
      pumping = false;
    }
  }

  function wakeLaneAt(lane: Lane, atMs: number): void {
    if (atMs >= lane.wakeAtMs) return;
    lane.wakeAtMs = atMs;
    timer.schedule({ atMs, kind: 'lane', lane });
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
  function run(lane: Lane): void {
    if (closing) return;
    const nowMs = clock.nowMs();
    if (isPaused(lane, nowMs)) {
      unprepare(lane);
      // A maintenance pause (131057) ends by itself: the lane runs again then, one probe first.
      if (lane.pausedUntilMs > nowMs && !lane.paused) wakeLaneAt(lane, lane.pausedUntilMs);
      if (lane.depth > 0 && lane.sweepAtMs === Number.POSITIVE_INFINITY) {
        lane.sweepAtMs = nowMs + sweepMs;
        timer.schedule({ atMs: lane.sweepAtMs, kind: 'sweep', lane });
      }
      return;
    }
    const info = numbers.get(lane.phoneNumberId);
    if (info === undefined) {
      for (let job = lane.peekReady(nowMs); job !== undefined; job = lane.peekReady(nowMs)) {
        lane.shiftHead();
        failUnknown(lane, job, nowMs);
      }
      return;
    }
    lane.tenantId = info.tenantId;
    const rateMps = lane.rate.current(targetMps(lane, info, settings.headroom), nowMs);

    const burst = pacedBurst(lane, info, settings.headroom);
    const warmup = warmupOf(deps, lane, nowMs);
    let pacerWaitMs = 0;
    for (let job = lane.prepared.peek(); job !== undefined; job = lane.prepared.peek()) {
      if (job.rec.deadlineAtMs <= nowMs) {
        lane.prepared.shift();
        dropPairAhead(lane, job);
        unreserve(lane);
        background(() => ctx.expire(lane, job!, null));
        continue;
      }
      const pair = pairOf(info, job);
      if (pair !== undefined && checkPair(pacer, lane, job.rec.to, pair, nowMs) > 0) {
        // Only when the pair's config changed since the commit: never early, so back to the queue.
        lane.prepared.shift();
        dropPairAhead(lane, job);
        const j = job;
        background(() => requeueNow(lane, j));
        unreserve(lane);
        continue;
      }
      pacerWaitMs = departureWaitMs(pacer, lane, rateMps, burst, warmup, nowMs);
      if (pacerWaitMs > 0) {
        wakeLaneAt(lane, nowMs + pacerWaitMs);
        break;
      }
      if (pair !== undefined) takePair(pacer, lane, job.rec.to, pair, nowMs);
      lane.prepared.shift();
      dropPairAhead(lane, job);
      void request(lane, job, info);
    }
    // Committed messages already wait longer than the lookahead window: commit no more for now.
    if (pacerWaitMs > PREPARE_AHEAD_MS) return;

    // After a maintenance pause one request goes first, as a probe: the rest wait for its answer.
    const bound = lane.probing ? 1 : maxInFlight(rateMps);
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
        background(() => ctx.expire(lane, job, null));
        continue;
      }
      const pair = pairOf(info, job);
      if (pair !== undefined) {
        const pairWaitMs = pairDueInMs(pacer, lane, job.rec.to, pair, nowMs);
        if (pairWaitMs > 0) {
          lane.shiftHead();
          holdForPair(lane, job, nowMs + pairWaitMs);
          continue;
        }
      }
      const ahead = lane.prepared.length + lane.preparing;
      if (ahead >= room) {
        // Window full (room ≤ 0): wake when a slot frees.
        if (ahead === 0) wakeLaneAt(lane, nowMs + warmupWaitMs(lane, warmup!, nowMs));
        return;
      }
      const dueInMs = ahead < burst
        ? pacer.check(lane.pacerKey, rateMps, burst - ahead, nowMs)
        : pacer.check(lane.pacerKey, rateMps, 1, nowMs) + (ahead - burst + 1) * intervalMs;
      if (dueInMs > PREPARE_AHEAD_MS) {
        if (ahead === 0) wakeLaneAt(lane, nowMs + dueInMs - PREPARE_AHEAD_MS);
        return;
      }
      if (sendsInFlight >= maxSends) {
        blocked.add(lane);
        return;
      }
      lane.shiftHead();
      if (pair !== undefined) notePairAhead(lane, job);
      void prepare(lane, job);
    }
  }

  /** Holds a message with its recipient until the pair rate lets it go; the lane's other recipients keep flowing. */
  function holdForPair(lane: Lane, job: Job, untilMs: number): void {
    if (untilMs >= job.rec.deadlineAtMs) {
      background(() => ctx.expire(lane, job, null));
      return;
    }
    const park = lane.park(job.rec.to, untilMs, false);
    lane.depth++;
    park.held.push(job);
    timer.schedule({ atMs: park.untilMs, kind: 'park', lane, recipient: job.rec.to });
  }

  /** Takes an upstream slot for the lane (from `sending` commit to the end of the request). */
  function reserve(lane: Lane): void {
    lane.inFlight++;
    sendsInFlight++;
    inFlightTotal++;
  }

  function unreserve(lane: Lane): void {
    lane.inFlight--;
    sendsInFlight--;
    inFlightTotal--;
    if (closing) {
      if (inFlightTotal === 0) drained?.();
      return;
    }
    // The freed slot goes to lanes that were waiting for one before this lane takes more.
    touched.add(lane);
        pump();
  }

  async function prepare(lane: Lane, job: Job): Promise<void> {
    reserve(lane);
    lane.preparing++;
    job.attempts++;
    const committed = await ctx.transition(job, { state: 'sending', attempts: job.attempts, atMs: clock.nowMs() });
    lane.preparing--;
    if (committed === 'applied' && !closing) {
      lane.prepared.push(job);
      touched.add(lane);
      pump();
      return;
    }
    dropPairAhead(lane, job);
    if (committed === 'applied') {
      background(() => requeueNow(lane, job)); // closing: back to queued
    } else {
      job.attempts--;
      if (committed === 'refused') known.delete(job.rec.id); // finished elsewhere: never send it
      else ctx.requeue(lane, job, STORE_RETRY_MS); // never send what the store has not recorded as sending
    }
    unreserve(lane);
  }

  /** Committed as `sending` but not sent (pause, close): back to `queued` in the store and the lane. */
  async function requeueNow(lane: Lane, job: Job): Promise<void> {
    job.attempts--;
    const nowMs = clock.nowMs();
    await ctx.transition(job, { state: 'queued', notBeforeMs: nowMs, lastError: job.rec.lastError, atMs: nowMs });
    if (!closing) ctx.requeue(lane, job, 0);
  }

  function unprepare(lane: Lane): void {
    for (let job = lane.prepared.shift(); job !== undefined; job = lane.prepared.shift()) {
      const j = job;
      dropPairAhead(lane, j);
      background(() => requeueNow(lane, j));
      unreserve(lane);
    }
  }

  /** Work outside requests that must still finish before close() resolves (store writes). */
  function background(work: () => Promise<void>): void {
    inFlightTotal++;
    work()
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'dispatch bookkeeping failed'))
      .finally(() => {
        inFlightTotal--;
        if (closing && inFlightTotal === 0) drained?.();
      });
  }

  function failUnknown(lane: Lane, job: Job, nowMs: number): void {
    background(async () => {
      await ctx.transition(job, { state: 'failed', lastError: UNKNOWN_NUMBER_ERROR, atMs: nowMs });
      ctx.finish(lane, job, { id: job.rec.id, state: 'failed', status: 0, bodyText: '', wamid: null, error: UNKNOWN_NUMBER_ERROR });
    });
  }

  /** One upstream request for a message committed as `sending`, then the reaction to its answer. */
  async function request(lane: Lane, job: Job, info: NumberInfo): Promise<void> {
    try {
      const startMs = clock.nowMs();
      let result: UpstreamResult;
      try {
        result = await deps.upstream.send({ phoneNumberId: lane.phoneNumberId, accessToken: info.accessToken, body: job.rec.body });
      } catch (err) {
        result = { kind: 'network', reason: 'other', message: (err as Error).message };
      }
      const reaction = classify(result);
      emit({
        type: 'attempt',
        id: job.rec.id,
        tenantId: lane.tenantId,
        phoneNumberId: lane.phoneNumberId,
        outcome: result.kind,
        code: result.kind === 'ok' ? 0 : result.kind === 'error' ? result.code : -1,
        reaction,
        upstreamMs: clock.nowMs() - startMs,
      });
      await react(ctx, lane, job, info, result, reaction);
    } catch (err) {
      log.error({ id: job.rec.id, err: (err as Error).message }, 'dispatch attempt failed');
      ctx.requeue(lane, job, STORE_RETRY_MS);
    } finally {
      unreserve(lane);
    }
  }

  function runLanesOf(predicate: (lane: Lane) => boolean): void {
    for (const lane of lanes.values()) if (predicate(lane)) touched.add(lane);
    pump();
  }

  return {
    submit(record) {
      if (closing || record.state !== 'queued') return;
      add(record);
      pump();
    },
    recover(records) {
      if (closing) return;
      for (const rec of records) if (rec.state === 'queued' || rec.state === 'sending') add(rec);
      pump();
    },
    estimateWaitMs(phoneNumberId) {
      const lane = lanes.get(phoneNumberId);
      const info = numbers.get(phoneNumberId);
      if (lane === undefined || info === undefined) return 0;
      const nowMs = clock.nowMs();
      if (lane.paused || pausedTenants.has(lane.tenantId)) return Number.POSITIVE_INFINITY;
      let rateMps = lane.rate.current(targetMps(lane, info, settings.headroom), nowMs);
      const warmup = warmupOf(deps, lane, nowMs);
      if (warmup !== null) rateMps = Math.min(rateMps, (warmup.limit * 1000) / warmup.windowMs);
      const pauseMs = Math.max(0, lane.pausedUntilMs - nowMs);
      return pauseMs + ((lane.depth + lane.inFlight) / rateMps) * 1000;
    },
    waitForOutcome: (id, timeoutMs) => waiters.wait(id, timeoutMs),
    setLimits(phoneNumberId, patch: LimitsPatch) {
      const lane = laneFor(phoneNumberId, '');
      lane.overrides = { ...lane.overrides, ...patch };
      runLanesOf((l) => l === lane);
    },
    pause(phoneNumberId) {
      const lane = laneFor(phoneNumberId, '');
      lane.paused = true;
      runLanesOf((l) => l === lane);
    },
    resume(phoneNumberId) {
      const lane = lanes.get(phoneNumberId);
      if (lane === undefined) return;
      lane.paused = false;
      lane.pausedUntilMs = 0; // an operator's resume also ends a maintenance pause (131057) early
      runLanesOf((l) => l === lane);
    },
    pauseTenant(tenantId) {
      pausedTenants.add(tenantId);
      runLanesOf((l) => l.tenantId === tenantId);
    },
    resumeTenant(tenantId) {
      pausedTenants.delete(tenantId);
      runLanesOf((l) => l.tenantId === tenantId);
    },
    snapshot(): LaneView[] {
      const nowMs = clock.nowMs();
      const views: LaneView[] = [];
      for (const lane of lanes.values()) views.push(laneView(lane, numbers.get(lane.phoneNumberId), isPaused(lane, nowMs), settings.headroom, nowMs));
      return views;
    },
    async close() {
      if (closing) return;
      closing = true;
      timer.stop();
      for (const lane of lanes.values()) unprepare(lane);
      if (inFlightTotal > 0) await new Promise<void>((resolve) => (drained = resolve));
    },
  };
}
