/**
 * A lane's view of its number's queue in the store. The store is the queue; the lane keeps only a
 * window of it in memory (its `fresh` FIFOs, at most `windowPerPriority` each) and pages the rest
 * in service order: per priority, by due time (`notBeforeMs`) then arrival (`seq`). Pure
 * bookkeeping; paging.ts does the reads.
 *
 * Per priority, a cursor marks where the last page ended. Nothing waiting in the store and not in
 * memory ever sits behind a cursor, for three reasons:
 * - a page only returns messages that are due, and a message delayed later (a retry, a park) is
 *   due after every page already read, so its key is past the cursor;
 * - a message submitted while the window is full is the newest arrival; only when its due time is
 *   before the cursor's (a page read a later retry first) does the cursor go back to the start;
 * - messages in memory are skipped by id when a page meets them again.
 * Delayed messages the store holds are seen again at `dueAtMs[p]`, the earliest due time the last
 * page reported.
 */
import type { PageCursor, Priority } from '../store/types.js';

export class LanePaging {
  /** Per priority: where the last page ended (null: at the start). */
  readonly cursor: [PageCursor | null, PageCursor | null] = [null, null];
  /** Per priority: the store may hold waiting messages past the cursor that are not in memory. */
  readonly more: [boolean, boolean] = [false, false];
  /** Per priority: bumped whenever `more` is set, so a page read before cannot clear it. */
  readonly generation: [number, number] = [0, 0];
  /** Per priority: earliest due time of a delayed message in the store (Infinity: none known). */
  readonly dueAtMs: [number, number] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  /** Waiting messages only the store holds (counted at boot and at submit; a page moves them to memory). */
  inStore = 0;
  /** A page read is under way (one at a time per lane). */
  loading = false;
  /** When this process started paging the lane: a `sending` row committed since is one of its own. */
  attachedAtMs = 0;
  /** Timer of the next `dueAtMs` visit, if armed. */
  dueTimer: NodeJS.Timeout | null = null;
  dueTimerAtMs = Number.POSITIVE_INFINITY;

  /** The store holds waiting messages of priority `p` that memory does not; `notBeforeMs`: the earliest of them, if known. */
  markMore(p: Priority, notBeforeMs?: number): void {
    this.more[p] = true;
    this.generation[p]++;
    const cursor = this.cursor[p];
    if (notBeforeMs !== undefined && cursor !== null && notBeforeMs < cursor.notBeforeMs) this.cursor[p] = null;
  }

  /** Messages the lane must read next: the priority whose window is low and whose store has more, or -1. */
  wanted(freshLengths: readonly [number, number], lowWater: number): Priority | -1 {
    if (this.more[0] && freshLengths[0] <= lowWater) return 0;
    if (this.more[1] && freshLengths[1] <= lowWater) return 1;
    return -1;
  }

  /** A page of `p` came back: advance the cursor; `short` (the end was reached) clears `more` unless set since `generation`. */
  pageRead(p: Priority, last: PageCursor | null, short: boolean, generation: number, nextDueMs: number | null): void {
    if (last !== null) this.cursor[p] = last;
    if (short && this.generation[p] === generation) this.more[p] = false;
    this.dueAtMs[p] = nextDueMs ?? Number.POSITIVE_INFINITY;
  }

  /** Delayed messages came due: look again from the cursor. */
  dueNow(nowMs: number): boolean {
    let any = false;
    for (const p of [0, 1] as const) {
      if (this.dueAtMs[p] <= nowMs) {
        this.dueAtMs[p] = Number.POSITIVE_INFINITY;
        this.markMore(p);
        any = true;
      }
    }
    return any;
  }

  stop(): void {
    if (this.dueTimer !== null) clearTimeout(this.dueTimer);
    this.dueTimer = null;
    this.dueTimerAtMs = Number.POSITIVE_INFINITY;
  }
}
