/**
 * Committing a message as `sending` before its request, and taking that back when it does not
 * leave. The store must record `sending` before any request goes out (at-least-once: a `sending`
 * record is sent again after a crash); a commit that fails or is refused never leads to a send.
 */
import type { Job, Lane } from './lane.js';
import { dropPairAhead } from './pair-rate.js';
import { isDepartureChecked, isTemplateJob, type DispatchState } from './state.js';
import type { RecordedError } from '../store/types.js';

/** How long a message waits before another try when the store could not commit its transition. */
export const STORE_RETRY_MS = 1000;
/** Global back-off while the store fails its commits: doubling from the first, capped. */
const STORE_BACKOFF_FIRST_MS = 250;
const STORE_BACKOFF_MAX_MS = 10_000;

/**
 * A `sending` commit failed: every lane stops committing for a while (doubling), then one commit
 * goes as a probe. Without this a failing store made the dispatcher spin through the whole backlog,
 * each message failing its commit in turn.
 */
function storeFailed(s: DispatchState): void {
  s.storeFailures++;
  s.storeProbing = false;
  const backoffMs = Math.min(STORE_BACKOFF_MAX_MS, STORE_BACKOFF_FIRST_MS * 2 ** (s.storeFailures - 1));
  s.storeBackoffUntilMs = s.deps.clock.nowMs() + backoffMs;
  if (s.storeFailures === 1) s.deps.log.error({ backoffMs }, 'store failing its commits: dispatch holds, probing with one commit at a time');
}

/** A commit landed after failures: every lane with work runs again. */
function storeRecovered(s: DispatchState): void {
  s.deps.log.info({ failures: s.storeFailures }, 'store commits again: dispatch resumes');
  s.storeFailures = 0;
  s.storeProbing = false;
  s.storeBackoffUntilMs = 0;
  for (const lane of s.lanes.values()) if (lane.depth > 0) s.touched.add(lane);
}

/** May a new `sending` be committed now? Not during the back-off, and only one probe after it. */
export function storeAllows(s: DispatchState, nowMs: number): boolean {
  if (s.storeFailures === 0) return true;
  if (s.storeBackoffUntilMs > nowMs || s.storeProbing) return false;
  s.storeProbing = true;
  return true;
}

/**
 * Commits `sending` with an upstream slot reserved; once committed the message waits in
 * `lane.prepared` for its pacing token (run-loop.ts). The slot is released when it does not.
 */
export async function prepare(s: DispatchState, lane: Lane, job: Job): Promise<void> {
  s.reserve(lane);
  lane.preparing++;
  if (s.deps.confirmAtDeparture !== undefined && isDepartureChecked(job)) {
    let refused: RecordedError | null;
    try {
      refused = await s.deps.confirmAtDeparture(job.rec, s.deps.clock.nowMs(), isTemplateJob(job));
    } catch (err) {
      // Unknown (the shared store failed): not sent now, tried again like a failed commit.
      s.deps.log.error({ id: job.rec.id, err: (err as Error).message }, 'departure check failed; trying again');
      lane.preparing--;
      dropPairAhead(lane, job);
      s.requeue(lane, job, STORE_RETRY_MS);
      s.unreserve(lane);
      return;
    }
    if (refused !== null) {
      lane.preparing--;
      dropPairAhead(lane, job);
      s.background(() => s.reject(lane, job, refused));
      s.unreserve(lane);
      return;
    }
  }
  job.attempts++;
  const fence = s.deps.fleet?.fence(lane.phoneNumberId);
  const committed = s.deps.fleet !== undefined && fence === undefined
    ? 'refused' // the lease went while this waited its turn: the number's next owner sends it
    : await s.transition(job, { state: 'sending', attempts: job.attempts, atMs: s.deps.clock.nowMs(), ...(fence === undefined ? {} : { fence }) });
  lane.preparing--;
  if (committed === 'error') storeFailed(s);
  else if (s.storeFailures > 0) storeRecovered(s);
  if (committed === 'applied' && !s.closing && !lane.retired) {
    lane.prepared.push(job);
    s.touched.add(lane);
    s.pump();
    return;
  }
  dropPairAhead(lane, job);
  if (committed === 'applied') {
    // Closing, or the lane retired during the commit (in a fleet: back to queued while this process
    // still holds the lease, refused once another does: then the new owner sends the `sending` row).
    s.background(() => requeueNow(s, lane, job));
  } else {
    job.attempts--;
    if (committed === 'refused') s.forget(lane, job.rec.id); // finished elsewhere: never send it
    else s.requeue(lane, job, STORE_RETRY_MS); // never send what the store has not recorded as sending
  }
  s.unreserve(lane);
}

/** Committed as `sending` but not sent (pause, close): back to `queued` in the store and the lane. */
export async function requeueNow(s: DispatchState, lane: Lane, job: Job): Promise<void> {
  job.attempts--;
  const nowMs = s.deps.clock.nowMs();
  await s.transition(job, { state: 'queued', notBeforeMs: nowMs, lastError: job.lastError, atMs: nowMs, throttled: job.throttled });
  if (!s.closing) s.requeue(lane, job, 0);
  else s.forget(lane, job.rec.id);
}

/** Takes back every message of the lane committed but not yet sent, releasing their slots. */
export function unprepare(s: DispatchState, lane: Lane): void {
  for (let job = lane.prepared.shift(); job !== undefined; job = lane.prepared.shift()) {
    const j = job;
    dropPairAhead(lane, j);
    s.background(() => requeueNow(s, lane, j));
    s.unreserve(lane);
  }
}
