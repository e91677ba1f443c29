/**
 * One upstream request for a message committed as `sending`, then the reaction to its answer
 * (reactions.ts): `sent` with the wamid, a retry, a park, a pause or a failure.
 */
import { classify } from '../upstream/classify.js';
import type { UpstreamResult } from '../upstream/types.js';
import type { Job, Lane } from './lane.js';
import { STORE_RETRY_MS } from './prepare.js';
import { react } from './reactions.js';
import type { DispatchState } from './state.js';
import type { NumberInfo } from './types.js';

/** Holds the slot `prepare` reserved until the answer is handled, then releases it. */
export async function request(s: DispatchState, lane: Lane, job: Job, info: NumberInfo): Promise<void> {
  const { clock, log } = s.deps;
  try {
    const startMs = clock.nowMs();
    let result: UpstreamResult;
    try {
      result = await s.deps.upstream.send({ phoneNumberId: lane.phoneNumberId, accessToken: info.accessToken, body: job.rec.body });
    } catch (err) {
      result = { kind: 'network', reason: 'other', message: (err as Error).message };
    }
    const reaction = classify(result);
    const endMs = clock.nowMs();
    s.cameBack(lane, startMs, endMs);
    s.recordLatency(lane, endMs - startMs, endMs);
    s.emit({
      type: 'attempt',
      id: job.rec.id,
      tenantId: lane.tenantId,
      phoneNumberId: lane.phoneNumberId,
      outcome: result.kind,
      code: result.kind === 'ok' ? 0 : result.kind === 'error' ? result.code : -1,
      reaction,
      upstreamMs: endMs - startMs,
      to: job.rec.to,
      ...(result.kind === 'ok' && result.waId !== undefined && result.waId !== job.rec.to ? { waId: result.waId } : {}),
    });
    await react(s, lane, job, info, result, reaction);
  } catch (err) {
    log.error({ id: job.rec.id, err: (err as Error).message }, 'dispatch attempt failed');
    s.requeue(lane, job, STORE_RETRY_MS);
  } finally {
    s.unreserve(lane);
  }
}
