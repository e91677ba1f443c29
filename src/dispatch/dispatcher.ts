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
 * The store is the queue: a lane holds a window of its number's next messages and pages the rest
 * (paging.ts); boot reads how many each number has, not the messages.
 *
 * Every state change goes through `store.transition`: `sending` is committed before the request,
 * `sent` with the wamid after. Reactions to upstream answers: reactions.ts.
 *
 * Parts: state.ts (shared state, slots, store effects), run-loop.ts (which lanes run, pacing),
 * prepare.ts (the `sending` commit), request.ts (the upstream request), control.ts (pause,
 * resume, limits, views). This file wires them behind the Dispatcher interface.
 */
import type { MessageRecord } from '../store/types.js';
import { capacityView, estimateWaitMs, pauseNumber, pauseTenant, resumeAfterNewToken, resumeNumber, resumeTenant, setLimits, snapshot } from './control.js';
import { applyControl, restore } from './control-state.js';
import { adopt, resync, retire, stored } from './fleet.js';
import { admitToWindow, attachPaging, jobOf, recoverFromStore } from './paging.js';
import { unprepare } from './prepare.js';
import { DispatchState } from './state.js';
import type { Dispatcher, DispatcherDeps, MemoryView } from './types.js';

/**
 * Takes a message in once (submit and recover may both hand it over): counted as waiting, and
 * into the window (due now, or at `notBeforeMs`) unless the store keeps it until a page reads it.
 */
function add(s: DispatchState, rec: MessageRecord): void {
  if (s.known.has(rec.id)) return;
  const lane = s.laneFor(rec.phoneNumberId, rec.tenantId);
  attachPaging(s, lane);
  lane.depth++;
  if (!admitToWindow(s, lane, rec)) return;
  const job = jobOf(s, lane, rec);
  const nowMs = s.deps.clock.nowMs();
  if (rec.notBeforeMs > nowMs) s.timer.schedule({ atMs: rec.notBeforeMs, kind: 'job', lane, job });
  else lane.enqueueFresh(job);
  s.touched.add(lane);
}

function memoryView(s: DispatchState): MemoryView {
  const lanes = [...s.lanes.values()].map((lane) => ({
    phoneNumberId: lane.phoneNumberId, window: lane.windowLength(), inStore: lane.paging.inStore,
  }));
  return { known: s.known.size, lanes };
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const s = new DispatchState(deps);
  return {
    submit(record) {
      if (s.closing || record.state !== 'queued') return;
      // In a fleet the number's owner pages it in (the store's wake notice reaches it).
      if (deps.fleet !== undefined && s.lanes.get(record.phoneNumberId)?.owned !== true) return;
      add(s, record);
      s.pump();
    },
    async recover(records) {
      if (s.closing) return;
      if (records === undefined) {
        if (deps.fleet !== undefined) return; // each number is recovered by whoever takes its lease (adopt)
        await recoverFromStore(s);
        s.pump();
        return;
      }
      for (const rec of records) {
        if (rec.state !== 'queued' && rec.state !== 'sending') continue;
        add(s, rec);
        // Recovery runs at boot, before this process sent anything: the previous one may have just burst.
        s.laneFor(rec.phoneNumberId, rec.tenantId).startInDebt = true;
      }
      s.pump();
    },
    restore: (entries) => restore(s, entries),
    adopt: (numbers) => adopt(s, numbers),
    retire: (phoneNumberId) => retire(s, phoneNumberId),
    stored: (notice) => stored(s, notice),
    resync: (reread) => resync(s, reread),
    controlChanged(key, value) {
      applyControl(s, key, value);
      for (const lane of s.lanes.values()) s.touched.add(lane);
      s.pump();
    },
    estimateWaitMs: (phoneNumberId, ahead) => estimateWaitMs(s, phoneNumberId, ahead),
    waitForOutcome: (id, timeoutMs) => s.waiters.wait(id, timeoutMs),
    queued: (phoneNumberId) => Math.max(0, s.lanes.get(phoneNumberId)?.depth ?? 0),
    memory: () => memoryView(s),
    setLimits: (phoneNumberId, patch) => setLimits(s, phoneNumberId, patch),
    pause: (phoneNumberId) => pauseNumber(s, phoneNumberId),
    resume: (phoneNumberId) => resumeNumber(s, phoneNumberId),
    pauseTenant: (tenantId, by) => pauseTenant(s, tenantId, by),
    resumeTenant: (tenantId) => resumeTenant(s, tenantId),
    resumeAfterNewToken: (tenantId) => resumeAfterNewToken(s, tenantId),
    snapshot: () => snapshot(s),
    capacity: () => capacityView(s),
    async close() {
      if (s.closing) return;
      s.closing = true;
      s.timer.stop();
      for (const lane of s.lanes.values()) {
        lane.paging.stop();
        unprepare(s, lane);
      }
      if (s.inFlightTotal > 0) await new Promise<void>((resolve) => (s.drained = resolve));
    },
  };
}
