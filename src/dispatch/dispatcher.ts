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
 *
 * Parts: state.ts (shared state, slots, store effects), run-loop.ts (which lanes run, pacing),
 * prepare.ts (the `sending` commit), request.ts (the upstream request), control.ts (pause,
 * resume, limits, views). This file wires them behind the Dispatcher interface.
 */
import type { MessageRecord } from '../store/types.js';
import { capacityView, estimateWaitMs, pauseNumber, pauseTenant, resumeNumber, resumeTenant, setLimits, snapshot } from './control.js';
import { restore } from './control-state.js';
import type { Job } from './lane.js';
import { unprepare } from './prepare.js';
import { DispatchState } from './state.js';
import type { Dispatcher, DispatcherDeps } from './types.js';

/** Takes a message in once (submit and recover may both hand it over): due now, or at `notBeforeMs`. */
function add(s: DispatchState, rec: MessageRecord): void {
  if (s.known.has(rec.id)) return;
  s.known.add(rec.id);
  const lane = s.laneFor(rec.phoneNumberId, rec.tenantId);
  const job: Job = { rec, attempts: rec.attempts, throttled: 0, lastError: rec.lastError };
  lane.depth++;
  const nowMs = s.deps.clock.nowMs();
  if (rec.notBeforeMs > nowMs) s.timer.schedule({ atMs: rec.notBeforeMs, kind: 'job', lane, job });
  else lane.enqueueFresh(job);
  s.touched.add(lane);
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const s = new DispatchState(deps);
  return {
    submit(record) {
      if (s.closing || record.state !== 'queued') return;
      add(s, record);
      s.pump();
    },
    recover(records) {
      if (s.closing) return;
      for (const rec of records) {
        if (rec.state !== 'queued' && rec.state !== 'sending') continue;
        add(s, rec);
        // Recovery runs at boot, before this process sent anything: the previous one may have just burst.
        s.laneFor(rec.phoneNumberId, rec.tenantId).startInDebt = true;
      }
      s.pump();
    },
    restore: (entries) => restore(s, entries),
    estimateWaitMs: (phoneNumberId) => estimateWaitMs(s, phoneNumberId),
    waitForOutcome: (id, timeoutMs) => s.waiters.wait(id, timeoutMs),
    setLimits: (phoneNumberId, patch) => setLimits(s, phoneNumberId, patch),
    pause: (phoneNumberId) => pauseNumber(s, phoneNumberId),
    resume: (phoneNumberId) => resumeNumber(s, phoneNumberId),
    pauseTenant: (tenantId) => pauseTenant(s, tenantId),
    resumeTenant: (tenantId) => resumeTenant(s, tenantId),
    snapshot: () => snapshot(s),
    capacity: () => capacityView(s),
    async close() {
      if (s.closing) return;
      s.closing = true;
      s.timer.stop();
      for (const lane of s.lanes.values()) unprepare(s, lane);
      if (s.inFlightTotal > 0) await new Promise<void>((resolve) => (s.drained = resolve));
    },
  };
}
