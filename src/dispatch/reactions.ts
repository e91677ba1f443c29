/**
 * What happens to a message and its lane after an upstream answer, per classify.ts's reaction
 * (cloud-api.md §4). Every outcome is committed through `store.transition` before the message
 * becomes eligible again, so a record never lags behind what the dispatcher does with it.
 */
import type { RecordedError } from '../store/types.js';
import type { Reaction } from '../upstream/classify.js';
import type { UpstreamResult } from '../upstream/types.js';
import { DEFER_USER_MS, MAINTENANCE_PAUSE_MS, THROTTLED_RETRY_MS, pairParkMs, retryDelayMs } from './backoff.js';
import type { DispatchContext } from './context.js';
import type { Job, Lane, Park } from './lane.js';
import { backOff } from './throttle-backoff.js';
import type { NumberInfo } from './types.js';

export function recordedError(result: UpstreamResult): RecordedError {
  switch (result.kind) {
    case 'error':
      return { code: result.code, title: result.title, details: result.details, httpStatus: result.status };
    case 'network':
      return { code: -1, title: 'Upstream unreachable', details: result.reason, httpStatus: 0 };
    case 'ok':
      return { code: 0, title: 'OK', details: '', httpStatus: result.status };
  }
}

export async function react(
  ctx: DispatchContext,
  lane: Lane,
  job: Job,
  info: NumberInfo,
  result: UpstreamResult,
  reaction: Reaction,
): Promise<void> {
  const { clock, log } = ctx.deps;
  const settings = ctx.deps.config.dispatch;
  const nowMs = clock.nowMs();
  const id = job.rec.id;
  // Any answer but maintenance or a rate limit again ends a probe: the lane goes back to its full in-flight bound.
  if (reaction !== 'pause-probe' && reaction !== 'backoff-number' && reaction !== 'backoff-tenant') lane.probing = false;

  if (result.kind === 'ok') {
    lane.clearStrikes(job.rec.to);
    // Only an answer to a request made after a rate-limit round shows the limit has room again.
    if (lane.throttledUntilMs <= nowMs) lane.throttleStrikes = 0;
    await recordSent(ctx, job, result.wamid, nowMs);
    ctx.finish(lane, job, { id, state: 'sent', status: result.status, bodyText: result.bodyText, wamid: result.wamid, error: null });
    return;
  }

  const lastError = recordedError(result);
  const requeueAfter = async (delayMs: number): Promise<void> => {
    // It would only come back to be expired: expire it now, with the answer that delayed it.
    if (nowMs + delayMs >= job.rec.deadlineAtMs) return ctx.expire(lane, job, lastError);
    job.lastError = lastError;
    const stored = await ctx.transition(job, { state: 'queued', notBeforeMs: nowMs + delayMs, lastError, atMs: nowMs, throttled: job.throttled });
    // A far retry waits in the store (its due time is committed), not in memory.
    if (stored === 'applied' && ctx.leaveInStore(lane, job, nowMs + delayMs)) return;
    ctx.requeue(lane, job, delayMs);
  };

  switch (reaction) {
    case 'slow-number': {
      job.throttled++;
      if (lane.rate.decrease(ctx.targetMps(lane, info), nowMs)) {
        ctx.saveControl(lane, false);
        log.warn({ phoneNumberId: lane.phoneNumberId, effectiveMps: lane.rate.current(ctx.targetMps(lane, info), nowMs) }, 'upstream throughput limit hit: slowing the number');
      }
      // A little jitter so the throttled batch does not come back as one burst.
      await requeueAfter(THROTTLED_RETRY_MS + Math.floor(ctx.random() * (THROTTLED_RETRY_MS / 4)));
      return;
    }
    case 'backoff-pair': {
      job.throttled++;
      const park = lane.park(job.rec.to, 0, true);
      park.marketingOnly = false;
      park.untilMs = Math.max(park.untilMs, nowMs + pairParkMs(park.strikes));
      await hold(ctx, lane, job, park, lastError, nowMs);
      return;
    }
    case 'defer-user': {
      // Meta's per-user marketing cap: marketing to the recipient waits a day (retrying sooner
      // extends the cap); utility and authentication templates and replies to them are not capped
      // and keep going (a park with pair strikes holds everything, as the pair rate applies to all).
      job.throttled++;
      const park = lane.park(job.rec.to, nowMs + DEFER_USER_MS, false);
      if (park.strikes === 0) park.marketingOnly = true;
      await hold(ctx, lane, job, park, lastError, nowMs);
      return;
    }
    case 'pause-probe': {
      job.throttled++;
      const untilMs = nowMs + (ctx.deps.maintenancePauseMs ?? MAINTENANCE_PAUSE_MS);
      if (untilMs > lane.pausedUntilMs) {
        lane.pausedUntilMs = untilMs;
        ctx.saveControl(lane, false);
        log.warn({ phoneNumberId: lane.phoneNumberId, pausedForMs: untilMs - nowMs }, 'number in maintenance (131057): paused, one probe send when the pause ends');
      }
      lane.probing = true;
      // Back with the messages that already waited (`due`, served first): the probe comes from them.
      await requeueAfter(0);
      return;
    }
    case 'backoff-number':
    case 'backoff-tenant': {
      job.throttled++;
      backOff(ctx, lane, reaction === 'backoff-tenant', lastError.code, nowMs);
      // Back with the messages that already waited (`due`, served first): the probe comes from them.
      // The deadline still holds: one the pause outlasts expires now, with the answer that delayed it.
      if (lane.pausedUntilMs >= job.rec.deadlineAtMs) return ctx.expire(lane, job, lastError);
      await requeueAfter(0);
      return;
    }
    case 'pause-number':
    case 'pause-tenant': {
      job.throttled++;
      const pause = { by: 'upstream' as const, code: lastError.code, atMs: nowMs };
      if (reaction === 'pause-number') lane.pause = pause;
      else ctx.pausedTenants.set(lane.tenantId, pause);
      ctx.saveControl(lane, reaction === 'pause-tenant');
      log.warn(
        { phoneNumberId: lane.phoneNumberId, tenantId: lane.tenantId, code: lastError.code },
        reaction === 'pause-number' ? 'number paused by upstream answer: resume through the admin API' : 'tenant paused by upstream answer (credentials): resume through the admin API',
      );
      await requeueAfter(0);
      return;
    }
    case 'retry': {
      const counted = job.attempts - job.throttled;
      if (counted < settings.maxAttempts) {
        await requeueAfter(retryDelayMs(counted, settings.retryBaseMs, settings.retryMaxMs, ctx.random));
        return;
      }
      break; // attempts exhausted: failed below
    }
    case 'sent':
    case 'fail':
      break;
  }
  await ctx.transition(job, { state: 'failed', lastError, atMs: nowMs });
  ctx.finish(lane, job, {
    id,
    state: 'failed',
    status: result.kind === 'error' ? result.status : 0,
    bodyText: result.kind === 'error' ? result.bodyText : '',
    wamid: null,
    error: lastError,
  });
}

/** Keeps the job with its parked recipient until the park ends; the rest of the lane keeps flowing. */
async function hold(ctx: DispatchContext, lane: Lane, job: Job, park: Park, lastError: RecordedError, nowMs: number): Promise<void> {
  if (park.untilMs >= job.rec.deadlineAtMs) return ctx.expire(lane, job, lastError);
  job.lastError = lastError;
  await ctx.transition(job, { state: 'queued', notBeforeMs: park.untilMs, lastError, atMs: nowMs, throttled: job.throttled });
  if (park.untilMs <= ctx.deps.clock.nowMs()) {
    ctx.requeue(lane, job, 0);
    return;
  }
  lane.depth++;
  lane.hold(park, job);
  ctx.timer.schedule({ atMs: park.untilMs, kind: 'park', lane, recipient: job.rec.to });
}

/** Delays between tries of a `sent` commit the store failed: doubling from 250 ms, capped. */
const SENT_RETRY_FIRST_MS = 250;
const SENT_RETRY_MAX_MS = 10_000;
/** Tries left once the dispatcher is closing: shutdown must end even with the store gone. */
const SENT_TRIES_WHEN_CLOSING = 3;

/**
 * The upstream accepted the message: its `sent` must be recorded, or the record stays `sending`
 * and recovery would send it a second time. The commit is tried until it lands (the request's
 * upstream slot stays held meanwhile, so a failing store also slows the lane down); only a
 * shutdown stops it, after a few more tries, leaving the record `sending` (at-least-once).
 */
async function recordSent(ctx: DispatchContext, job: Job, wamid: string, atMs: number): Promise<void> {
  let delayMs = SENT_RETRY_FIRST_MS;
  let closingTries = SENT_TRIES_WHEN_CLOSING;
  for (;;) {
    if ((await ctx.transition(job, { state: 'sent', wamid, atMs })) !== 'error') return;
    if (ctx.isClosing() && --closingTries <= 0) {
      ctx.deps.log.error({ id: job.rec.id }, 'sent not recorded before shutdown: the message stays sending and is sent again after a restart');
      return;
    }
    await new Promise<void>((resolve) => setTimeout(resolve, delayMs).unref());
    delayMs = Math.min(SENT_RETRY_MAX_MS, delayMs * 2);
  }
}
