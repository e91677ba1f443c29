/**
 * The store is the queue: a lane keeps a window of its number's next messages in memory and reads
 * the rest a page at a time, in service order (lane-paging.ts says why nothing is skipped). Boot
 * reads how many messages each number has, never the messages themselves.
 *
 * Memory per lane: at most `windowPerPriority` messages per priority in `fresh`, plus what is in
 * flight and what waits in memory for a retry or a parked recipient.
 */
import type { Departure, MessageRecord, Priority, QueuePage, Store } from '../store/types.js';
import type { Job, Lane } from './lane.js';
import { holdRecentRecipients, longestPairIntervalMs } from './recent-departures.js';
import type { DispatchState } from './state.js';

/**
 * Default messages per priority a lane holds in memory before the store keeps the rest. Refilled
 * at half: a page of 128 every 1.6 s at 80 msg/s, and 1,000 backlogged numbers hold ~0.5 M messages.
 */
export const DEFAULT_WINDOW_PER_PRIORITY = 256;
/** A failed page read is tried again after this long (the store is failing: no hurry). */
const PAGE_RETRY_MS = 1000;
/** Node fires longer timeouts at once; a farther due time is looked at again after this long. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export type QueuePager = Pick<Store, 'queuePage' | 'queueCounts'>;

/** The store's paging seam, when the dispatcher was given a store that has one (else lanes keep everything they are handed). */
export function pagerOf(s: DispatchState): QueuePager | null {
  const store = s.deps.store as Partial<QueuePager>;
  return typeof store.queuePage === 'function' && typeof store.queueCounts === 'function' ? (store as QueuePager) : null;
}

export function windowPerPriority(s: DispatchState): number {
  return s.deps.windowPerPriority ?? DEFAULT_WINDOW_PER_PRIORITY;
}

/** Makes the lane page from the store when its window runs low, and spill held messages past its bound (idempotent). */
export function attachPaging(s: DispatchState, lane: Lane): void {
  if (lane.onLow !== null || pagerOf(s) === null) return;
  lane.paging.attachedAtMs = s.deps.clock.nowMs();
  lane.lowWater = Math.floor(windowPerPriority(s) / 2);
  lane.maxHeld = 2 * windowPerPriority(s);
  lane.onLow = (l) => void fill(s, l);
  lane.onSpill = (l, job, untilMs, behind) => spill(s, l, job, untilMs + behind * pairIntervalMs(s, l));
}

/**
 * One recipient's messages leave at most one per pair interval: spilled ones are spaced that far
 * apart, so each comes due about when it can leave, instead of all at once to be spilled again.
 */
function pairIntervalMs(s: DispatchState, lane: Lane): number {
  return s.deps.numbers.get(lane.phoneNumberId)?.pair?.intervalMs ?? 0;
}

/**
 * A message for a parked recipient past the lane's bound of held ones goes back to the store, due
 * when the park ends (spaced by the pair rate behind the recipient's others): it leaves memory once that is committed (until then its id keeps a page from
 * reading it twice), and a page reads it again at its due time. Still waiting: `depth` keeps it.
 */
function spill(s: DispatchState, lane: Lane, job: Job, untilMs: number): void {
  if (untilMs >= job.rec.deadlineAtMs) {
    lane.depth--;
    s.background(() => s.expire(lane, job, job.lastError));
    return;
  }
  s.background(async () => {
    const nowMs = s.deps.clock.nowMs();
    const stored = await s.transition(job, { state: 'queued', notBeforeMs: untilMs, lastError: job.lastError, atMs: nowMs, throttled: job.throttled });
    if (stored === 'error') {
      // Not moved: it stays in memory and comes back when the park ends.
      s.timer.schedule({ atMs: untilMs, kind: 'job', lane, job });
      return;
    }
    s.forget(lane, job.rec.id);
    if (stored === 'refused') {
      lane.depth--; // finished elsewhere
      return;
    }
    lane.paging.inStore++;
    armDue(s, lane, untilMs, job.rec.priority);
  });
}

/**
 * A message whose next attempt is `atMs` and whose `queued` row with that due time is committed:
 * past RETRY_IN_MEMORY_MS it waits in the store, not in memory (a page reads it when due), so a
 * failing upstream cannot pile retries up in memory. False: no paging store, or due soon: the caller
 * keeps it. Still waiting: `depth` counts it.
 */
export function leaveInStore(s: DispatchState, lane: Lane, job: Job, atMs: number): boolean {
  if (pagerOf(s) === null || lane.onLow === null || atMs - s.deps.clock.nowMs() < RETRY_IN_MEMORY_MS) return false;
  s.forget(lane, job.rec.id);
  lane.depth++;
  lane.paging.inStore++;
  armDue(s, lane, atMs, job.rec.priority);
  return true;
}

/** Retries due within this long wait in memory; later ones in the store (leaveInStore). */
export const RETRY_IN_MEMORY_MS = 5_000;

/** A job for a record that enters memory (ids are remembered so a page meeting it again skips it). */
export function jobOf(s: DispatchState, lane: Lane, rec: MessageRecord): Job {
  s.known.set(rec.id, lane);
  return { rec, attempts: rec.attempts, throttled: rec.throttled ?? 0, lastError: rec.lastError };
}

/**
 * Should a newly stored message go straight into the window? Only when the store holds none of its
 * priority that memory does not (it would jump them) and the window has room. Otherwise it stays in
 * the store, counted in `depth`, until a page reads it.
 */
export function admitToWindow(s: DispatchState, lane: Lane, rec: MessageRecord): boolean {
  if (pagerOf(s) === null) return true;
  const p = rec.priority;
  if (!lane.paging.more[p] && lane.fresh[p].length < windowPerPriority(s)) return true;
  lane.paging.inStore++;
  lane.paging.markMore(p, rec.notBeforeMs);
  // Departures read the next page; only a lane with nothing under way reads one for a submit (one
  // whose window emptied into short parks waits for their release instead of reading at ingress speed).
  if (lane.windowLength() === 0 && lane.heldCount === 0 && lane.inFlight === 0) lane.checkLow();
  return false;
}

/**
 * Boot: every number with unfinished messages gets a lane that knows how many and pages them, and
 * every recipient a number sent to within its pair interval before the restart is held for the rest
 * of it (recent-departures.ts).
 */
export async function recoverFromStore(s: DispatchState): Promise<void> {
  const pager = pagerOf(s);
  if (pager === null) return;
  const nowMs = s.deps.clock.nowMs();
  const lookBackMs = longestPairIntervalMs(s);
  const [counts, departures] = await Promise.all([
    pager.queueCounts(),
    lookBackMs > 0 && s.deps.store.departuresSince !== undefined ? s.deps.store.departuresSince(nowMs - lookBackMs) : Promise.resolve([]),
  ]);
  holdDepartures(s, departures, nowMs);
  for (const { phoneNumberId, count } of counts) {
    if (count <= 0) continue;
    const lane = s.laneFor(phoneNumberId, '');
    attachPaging(s, lane);
    lane.depth += count;
    lane.paging.inStore += count;
    lane.paging.markMore(0);
    lane.paging.markMore(1);
    // Recovery runs at boot, before this process sent anything: the previous one may have just burst.
    lane.startInDebt = true;
    void fill(s, lane);
  }
}

function holdDepartures(s: DispatchState, departures: readonly Departure[], nowMs: number): void {
  const byNumber = new Map<string, Departure[]>();
  for (const d of departures) {
    const list = byNumber.get(d.phoneNumberId);
    if (list === undefined) byNumber.set(d.phoneNumberId, [d]);
    else list.push(d);
  }
  for (const [phoneNumberId, recent] of byNumber) {
    const info = s.deps.numbers.get(phoneNumberId);
    if (info === undefined) continue; // a number no longer configured sends nothing
    holdRecentRecipients(s, s.laneFor(phoneNumberId, info.tenantId), recent, nowMs);
  }
}

/**
 * Reads pages into the lane's window while a priority is low and the store has more of it. One
 * read at a time per lane; a read that fails is tried again later (the messages stay stored).
 */
export async function fill(s: DispatchState, lane: Lane): Promise<void> {
  // Callers do not await it (`void fill(...)`): nothing may reject out of it into the event loop.
  try {
    await fillPages(s, lane);
  } catch (err) {
    s.deps.log.error({ phoneNumberId: lane.phoneNumberId, err: (err as Error).message }, 'paging the queue failed; trying again');
    armDue(s, lane, s.deps.clock.nowMs() + PAGE_RETRY_MS, 0);
  }
}

async function fillPages(s: DispatchState, lane: Lane): Promise<void> {
  const pager = pagerOf(s);
  if (pager === null || lane.paging.loading) return;
  const paging = lane.paging;
  const size = windowPerPriority(s);
  paging.loading = true;
  try {
    for (;;) {
      if (s.closing) return;
      const p = paging.wanted([lane.fresh[0].length, lane.fresh[1].length], lane.lowWater);
      if (p === -1) return;
      const generation = paging.generation[p];
      const limit = size - lane.fresh[p].length;
      const nowMs = s.deps.clock.nowMs();
      let page: QueuePage;
      try {
        page = await pager.queuePage({ phoneNumberId: lane.phoneNumberId, priority: p, after: paging.cursor[p], dueByMs: nowMs, limit });
      } catch (err) {
        s.deps.log.error({ phoneNumberId: lane.phoneNumberId, err: (err as Error).message }, 'reading the next page of the queue failed; trying again');
        armDue(s, lane, nowMs + PAGE_RETRY_MS, p);
        return;
      }
      // Submits of messages this page saw run in the microtasks after their enqueue committed:
      // once those have run, every id here that ingress handed over is known, and none is counted twice.
      await new Promise<void>((resolve) => setImmediate(resolve));
      // Closing, or (in a fleet) the number went to another process while the page was read.
      if (s.closing || lane.retired) return;
      take(s, lane, page);
      paging.pageRead(p, page.last, page.records.length < limit, generation, page.nextDueMs);
      if (page.nextDueMs !== null) armDue(s, lane, page.nextDueMs, p);
      s.touched.add(lane);
      s.pump();
    }
  } finally {
    paging.loading = false;
  }
}

/**
 * Moves a page's records into the window, skipping those already in memory (in flight, waiting,
 * held). A `sending` row this process committed and no longer knows has just ended (its final
 * commit landed after the read): only a previous process's `sending` rows are sent again.
 */
function take(s: DispatchState, lane: Lane, page: QueuePage): void {
  for (const rec of page.records) {
    // Known ids are skipped, except a `queued` one only a retired lane held: not in flight (that would
    // be `sending`), it waits in memory nowhere that can send it.
    const holder = s.known.get(rec.id);
    if (holder !== undefined && !(holder.retired && rec.state === 'queued')) continue;
    if (rec.state === 'sending' && rec.updatedAtMs >= lane.paging.attachedAtMs) continue;
    lane.enqueueFresh(jobOf(s, lane, rec));
    // Counted when stored, or (a fleet's wake notice lost) found only now: counted as waiting then.
    if (lane.paging.inStore > 0) lane.paging.inStore--;
    else lane.depth++;
  }
}

/** Looks at the store again when its earliest delayed message of priority `p` comes due. */
function armDue(s: DispatchState, lane: Lane, atMs: number, p: Priority): void {
  const paging = lane.paging;
  paging.dueAtMs[p] = Math.min(paging.dueAtMs[p], atMs);
  if (atMs >= paging.dueTimerAtMs || s.closing) return;
  if (paging.dueTimer !== null) clearTimeout(paging.dueTimer);
  paging.dueTimerAtMs = atMs;
  paging.dueTimer = setTimeout(() => {
    paging.dueTimer = null;
    paging.dueTimerAtMs = Number.POSITIVE_INFINITY;
    const nowMs = s.deps.clock.nowMs();
    if (paging.dueNow(nowMs)) void fill(s, lane);
    const next = Math.min(paging.dueAtMs[0], paging.dueAtMs[1]);
    if (next !== Number.POSITIVE_INFINITY) armDue(s, lane, next, paging.dueAtMs[0] <= paging.dueAtMs[1] ? 0 : 1);
  }, Math.min(MAX_TIMER_MS, Math.max(0, atMs - s.deps.clock.nowMs())));
  paging.dueTimer.unref();
}
