/**
 * The dispatcher's side of distributed mode: numbers come and go with their leases
 * (src/fleet/ownership.ts decides; this applies).
 *
 * - `adopt`: a lease was taken. The lane starts from what the store knows: the number's control
 *   state (pauses, overrides, learned rate), its queue (counted, then paged), its bucket in debt
 *   and its warm-up window full (the previous owner may just have sent), and every recipient it
 *   sent to within a pair interval held until that interval has passed.
 * - `retire`: the lease is gone or handed over. The lane stops at once; what it holds in memory is
 *   dropped (it stays queued in the store), messages committed but not sent go back to `queued`,
 *   and the promise resolves once its requests in flight have been answered.
 * - `stored`: another process stored a message for a number this one owns: counted, paged in.
 * - `resync`: after each lease renewal the owned lanes run again (one held back while the renewal
 *   was late has no other wake-up); now and then (`reread`) their queues are read again from the
 *   start, since pub/sub loses notices when a connection drops (known ids are skipped).
 */
import type { ControlEntry } from '../store/types.js';
import { applyControl, controlKeys } from './control-state.js';
import type { Lane } from './lane.js';
import { attachPaging, fill } from './paging.js';
import { holdRecentRecipients } from './recent-departures.js';
import { unprepare } from './prepare.js';
import type { DispatchState } from './state.js';
import type { StoredNotice } from './types.js';

export interface Adoption {
  phoneNumberId: string;
  tenantId: string;
}

export async function adopt(s: DispatchState, numbers: readonly Adoption[]): Promise<void> {
  if (numbers.length === 0 || s.closing) return;
  const fleet = s.deps.fleet;
  const store = s.deps.store;
  if (fleet === undefined || store.queueCounts === undefined) return;
  const [counts, entries] = await Promise.all([store.queueCounts(), s.deps.control?.controlEntries?.() ?? Promise.resolve([] as ControlEntry[])]);
  const countOf = new Map(counts.map((c) => [c.phoneNumberId, c.count]));
  const entryOf = new Map(entries.map((e) => [e.key, e.value]));
  const nowMs = s.deps.clock.nowMs();
  for (const { phoneNumberId, tenantId } of numbers) {
    if (!fleet.holds(phoneNumberId) || s.closing) continue;
    const old = s.lanes.get(phoneNumberId);
    if (old !== undefined && old.owned && !old.retired) continue; // already adopted
    if (old !== undefined) dropLane(s, old);
    const lane = s.laneFor(phoneNumberId, tenantId);
    lane.owned = true;
    // The owner's entry, then the operator's on top (control-state.ts).
    applyControl(s, controlKeys.number(phoneNumberId), entryOf.get(controlKeys.number(phoneNumberId)) ?? null);
    applyControl(s, controlKeys.operator(phoneNumberId), entryOf.get(controlKeys.operator(phoneNumberId)) ?? null);
    attachPaging(s, lane);
    const count = countOf.get(phoneNumberId) ?? 0;
    lane.depth += count;
    lane.paging.inStore += count;
    lane.paging.markMore(0);
    lane.paging.markMore(1);
    lane.startInDebt = true;
    await holdRecent(s, lane, nowMs);
    void fill(s, lane);
    s.touched.add(lane);
  }
  s.pump();
}

/** Each recipient the number sent to within a pair interval waits out that interval (recent-departures.ts). */
async function holdRecent(s: DispatchState, lane: Lane, nowMs: number): Promise<void> {
  const intervalMs = s.deps.numbers.get(lane.phoneNumberId)?.pair?.intervalMs ?? 0;
  if (intervalMs <= 0) return;
  holdRecentRecipients(s, lane, await s.deps.fleet!.recentDepartures(lane.phoneNumberId, nowMs - intervalMs), nowMs);
}

export async function retire(s: DispatchState, phoneNumberId: string): Promise<void> {
  const lane = s.lanes.get(phoneNumberId);
  if (lane === undefined || lane.retired) return;
  dropLane(s, lane);
  if (lane.inFlight === 0) return;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (lane.inFlight === 0 || s.closing) {
        clearInterval(poll);
        resolve();
      }
    }, 20);
    poll.unref();
  });
}

/** Takes the lane out: nothing leaves through it again, and what it held is left to the store. */
function dropLane(s: DispatchState, lane: Lane): void {
  lane.retired = true;
  if (s.lanes.get(lane.phoneNumberId) === lane) s.lanes.delete(lane.phoneNumberId);
  s.touched.delete(lane);
  s.blocked.delete(lane);
  lane.paging.stop();
  unprepare(s, lane);
  for (const q of [...lane.fresh, ...lane.due]) for (let job = q.shift(); job !== undefined; job = q.shift()) s.forget(lane, job.rec.id);
  for (const park of lane.parks.values()) for (const job of park.held) s.forget(lane, job.rec.id);
  lane.parks.clear();
  lane.heldCount = 0;
  lane.depth = 0;
}

export function stored(s: DispatchState, notice: StoredNotice): void {
  const lane = s.lanes.get(notice.phoneNumberId);
  if (lane === undefined || !lane.owned || lane.retired) return;
  lane.depth++;
  lane.paging.inStore++;
  lane.paging.markMore(notice.priority, notice.notBeforeMs);
  lane.checkLow();
}

export function resync(s: DispatchState, reread: boolean): void {
  for (const lane of s.lanes.values()) {
    if (!lane.owned || lane.retired) continue;
    s.touched.add(lane); // held back while the renewal was late: runs again
    if (!reread || lane.paging.loading) continue;
    lane.paging.cursor[0] = null;
    lane.paging.cursor[1] = null;
    lane.paging.markMore(0);
    lane.paging.markMore(1);
    void fill(s, lane);
    s.touched.add(lane);
  }
  s.pump();
}
