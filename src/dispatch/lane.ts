/**
 * One business number's lane: the messages waiting to leave through it, in order (priority 0
 * before 1, then FIFO), its parked recipients, its in-flight count, pause flag and adaptive rate.
 * Pure bookkeeping: no I/O, no timers; the dispatcher decides when to look at it.
 *
 * Per priority there are two FIFOs: `due` (messages that already waited: retries, released
 * recipients) is served before `fresh`, so a retry does not go behind everything that arrived since.
 * `fresh` is a window onto the store, which is the queue (lane-paging.ts): when one runs low while
 * the store holds more, the lane calls `onLow` and the dispatcher reads the next page (paging.ts).
 */
import { CoreKey } from '../core/keyhash.js';
import type { MessageRecord, RecordedError } from '../store/types.js';
import { Fifo } from './deque.js';
import { PRIOR_LATENCY_MS } from './capacity.js';
import { ArrivalAnchor } from './arrival-anchor.js';
import { LATENCY_HALF_LIFE_MS, LatencyHistogram } from './latency.js';
import { RateControl } from './rate-control.js';
import type { PauseReason } from './control-state.js';
import { LanePaging } from './lane-paging.js';
import type { LimitsPatch } from './types.js';

export interface Job {
  rec: MessageRecord;
  /** Upstream requests made for this message, including earlier processes' (from the record). */
  attempts: number;
  /** Attempts answered with throttling/pausing codes; they do not count against maxAttempts. */
  throttled: number;
  /** The latest error recorded for it (kept when a prepared send is taken back unsent). */
  lastError: RecordedError | null;
  /** The body is a template send (state.ts isTemplateJob: computed once). */
  template?: boolean;
  /** Counted in the lane's `pairAhead` for its recipient: its pair token is taken at departure. */
  pairCounted?: boolean;
  /** Its (number, recipient) pair key, hashed once for every pair check of its stay (Lane.pairKeyOf). */
  pairKey?: CoreKey;
}

export interface Park {
  /** Recipient held until this instant. */
  untilMs: number;
  /** Consecutive 131056 answers for the pair. */
  strikes: number;
  /** Messages to the recipient that came up while parked, oldest first. */
  held: Job[];
  /** Messages to the recipient sent back to the store while parked, past the lane's bound of held ones. */
  spilled?: number;
  /** Holds only marketing (lane priority 1): a 131049 per-user marketing cap; others pass. */
  marketingOnly?: boolean;
}

/** A park at most this long does not make the lane read its next page while it holds messages (peekReady). */
const SHORT_PARK_MS = 60_000;

/** Pair state kept per lane; beyond this, idle (not holding) entries are dropped oldest first. */
const MAX_PARKS = 10_000;

export class Lane {
  readonly fresh: [Fifo<Job>, Fifo<Job>] = [new Fifo(), new Fifo()];
  readonly due: [Fifo<Job>, Fifo<Job>] = [new Fifo(), new Fifo()];
  /** Service order, built once: no arrays per pick on the hot path. */
  private readonly order: readonly Fifo<Job>[] = [this.due[0], this.fresh[0], this.due[1], this.fresh[1]];
  readonly parks = new Map<string, Park>();
  readonly rate = new RateControl();
  /** Pacer key, namespaced so ingress's own use of the core cannot charge the same bucket; hashed once for the lane's lifetime. */
  readonly pacerKey: CoreKey;
  /** Committed as `sending`, waiting for a pacing token; they leave first, in order. */
  readonly prepared = new Fifo<Job>();
  /** `sending` commits under way. */
  preparing = 0;
  overrides: LimitsPatch = {};
  /** Paused until resumed, and who paused it and why (an operator, or an upstream code); null: not paused. */
  pause: PauseReason | null = null;
  /** When an operator last resumed it (0: never): in a fleet, ends pauses from before on the owner. */
  operatorResumedAtMs = 0;
  /**
   * In a fleet: this process no longer owns the number (lease lost or handed over). A retired lane
   * never sends; its messages are the new owner's.
   */
  retired = false;
  /** In a fleet: adopted under this process's lease (dispatch/fleet.ts); only such a lane takes messages. */
  owned = false;
  /** Upstream slots held: `sending` commits under way, prepared messages, requests in flight. */
  inFlight = 0;
  /** Waiting messages: in the FIFOs, held for a parked recipient, in retry backoff, or only in the store. */
  depth = 0;
  /** The part of the queue only the store holds, and where the next page starts. */
  readonly paging = new LanePaging();
  /** `fresh` of a priority the store has more of ran low: set by the dispatcher when the lane pages. */
  onLow: ((lane: Lane) => void) | null = null;
  /** Each `fresh` FIFO is refilled when it holds this many or fewer (half the window). */
  lowWater = Number.POSITIVE_INFINITY;
  /** Messages held in memory for parked recipients, over all parks. */
  heldCount = 0;
  /** Beyond this many held, a message for a parked recipient goes back to the store until the park ends. */
  maxHeld = Number.POSITIVE_INFINITY;
  /**
   * Takes a held message out of memory, stored again as due when its park ends (paging.ts `spill`);
   * `behind` counts the recipient's messages ahead of it, so the store can space them out.
   */
  onSpill: ((lane: Lane, job: Job, untilMs: number, behind: number) => void) | null = null;
  /** Instant of this lane's pending paused-lane deadline sweep (Infinity: none). */
  sweepAtMs = Number.POSITIVE_INFINITY;
  /** Instant of this lane's pending pacing wake-up in the dispatcher's heap (Infinity: none). */
  wakeAtMs = Number.POSITIVE_INFINITY;
  /** End of a timed pause after 131057 (maintenance) or a Graph rate limit; 0: none. */
  pausedUntilMs = 0;
  /** After a maintenance or rate-limit pause: one request at a time until one is answered without 131057 or a rate limit. */
  probing = false;
  /** Consecutive rounds of Graph rate-limit answers (80007, 4 …): each pause doubles; a send that goes through starts over. */
  throttleStrikes = 0;
  /** End of the current rate-limit round (its pause is part of `pausedUntilMs`); 0: none. */
  throttledUntilMs = 0;
  /** Warm-up window key for departures, apart from admission's own key. */
  readonly warmupKey: CoreKey;
  /** Group of the lane's pair keys: a recipient's key is hashed under it, no joined string per check. */
  private readonly pairGroup: CoreKey;
  /** Per recipient: messages committed (or being committed) ahead of their pair token. */
  readonly pairAhead = new Map<string, number>();
  private headQueue: Fifo<Job> | null = null;

  /** When the lane last found every upstream slot taken (for the slot-wait metric). */
  blockedSinceMs = 0;
  /**
   * Its first departure starts the pacing bucket in debt (limits.ts startInDebt): set for lanes
   * that recovery hands a backlog, whose upstream bucket a previous process may have just spent.
   */
  startInDebt = false;
  /** The rate the lane was last paced at: a lower one rescales the bucket's debt (limits.ts rescaleDebt). */
  pacedMps = 0;
  /** This number's upstream answer times lately: sizes its in-flight bound (its first sample starts the clock). */
  readonly latency = new LatencyHistogram(LATENCY_HALF_LIFE_MS, PRIOR_LATENCY_MS, 0);
  /** Where the upstream's bucket may have started this busy period (arrival-anchor.ts). */
  readonly anchor = new ArrivalAnchor();
  /** Slots the lane may hold, as last sized by the run loop (capacity.ts). */
  inFlightLimit = 0;

  constructor(
    readonly phoneNumberId: string,
    public tenantId: string,
  ) {
    this.pacerKey = CoreKey.of(`dispatch:${phoneNumberId}`);
    this.warmupKey = CoreKey.of(`warmup-pace:${phoneNumberId}`);
    this.pairGroup = CoreKey.of(`pair:${phoneNumberId}`);
  }

  get paused(): boolean {
    return this.pause !== null;
  }

  /** GCRA key of the (number, recipient) pair rate: the recipient hashed under the lane's pair group. */
  pairKey(recipient: string): CoreKey {
    return this.pairGroup.member(recipient);
  }

  /** The job's pair key, hashed on its first pair check and kept for the next ones (due, check, take). */
  pairKeyOf(job: Job): CoreKey {
    return (job.pairKey ??= this.pairKey(job.rec.to));
  }

  /** A message to `recipient` was committed ahead of its pair token (+1) or left / was dropped (-1). */
  addPairAhead(recipient: string, delta: 1 | -1): void {
    const n = (this.pairAhead.get(recipient) ?? 0) + delta;
    if (n <= 0) this.pairAhead.delete(recipient);
    else this.pairAhead.set(recipient, n);
  }

  enqueueFresh(job: Job): void {
    this.fresh[job.rec.priority].push(job);
  }

  enqueueDue(job: Job): void {
    this.due[job.rec.priority].push(job);
  }

  /**
   * The next message that may leave now, skipping (and holding) those whose recipient is parked.
   * Stays at the head until `shiftHead()`, so a pacing refusal does not reorder anything.
   */
  peekReady(nowMs: number): Job | undefined {
    const checkParks = this.parks.size > 0;
    for (let i = 0; i < this.order.length; i++) {
      const q = this.order[i]!;
      let job = q.peek();
      while (job !== undefined) {
        const park = checkParks ? this.parks.get(job.rec.to) : undefined;
        if (park !== undefined && park.untilMs <= nowMs && park.held.length > 0) {
          // The park ended but its release wake-up has not run yet: the held messages are older
          // than this one, so they go first (FIFO per recipient); scan again from the top.
          this.release(job.rec.to, nowMs);
          i = -1;
          break;
        }
        if (park === undefined || park.untilMs <= nowMs || (park.marketingOnly === true && job.rec.priority === 0)) {
          this.headQueue = q;
          return job;
        }
        q.shift();
        this.hold(park, job);
        // A long park (131049 defers a day) must not starve the recipients behind it: read on. A
        // short one (the pair rate's seconds) releases soon, and its departure reads the next page;
        // reading on meanwhile would page a one-recipient backlog through memory as fast as it arrives.
        if (park.untilMs - nowMs > SHORT_PARK_MS) this.checkLow();
        job = q.peek();
      }
    }
    this.headQueue = null;
    return undefined;
  }

  /** Removes the job `peekReady` returned. */
  shiftHead(): Job | undefined {
    const job = this.headQueue?.shift();
    this.headQueue = null;
    if (job !== undefined) {
      this.depth--;
      this.checkLow();
    }
    return job;
  }

  /** Messages in the window FIFOs (`fresh` and `due`, both priorities). */
  windowLength(): number {
    return this.fresh[0].length + this.fresh[1].length + this.due[0].length + this.due[1].length;
  }

  /** Asks for a page when a `fresh` FIFO ran low and the store holds more of its priority. */
  checkLow(): void {
    if (this.onLow === null || this.paging.loading) return;
    if (this.paging.wanted([this.fresh[0].length, this.fresh[1].length], this.lowWater) !== -1) this.onLow(this);
  }

  /** Parks a recipient until `untilMs`; returns the park so the caller can hold the job in it. */
  park(recipient: string, untilMs: number, strike: boolean): Park {
    let park = this.parks.get(recipient);
    if (park === undefined) {
      if (this.parks.size >= MAX_PARKS) this.evictIdleParks();
      park = { untilMs, strikes: 0, held: [] };
      this.parks.set(recipient, park);
    }
    park.untilMs = Math.max(park.untilMs, untilMs);
    if (strike) park.strikes++;
    return park;
  }

  /**
   * Holds a waiting message with its parked recipient (it stays counted in `depth`). Past `maxHeld`
   * it is handed to `onSpill` instead, so a recipient parked for hours cannot pile messages up in memory.
   */
  hold(park: Park, job: Job): void {
    if (this.heldCount >= this.maxHeld && this.onSpill !== null) {
      park.spilled = (park.spilled ?? 0) + 1;
      this.onSpill(this, job, park.untilMs, park.held.length + park.spilled);
      return;
    }
    park.held.push(job);
    this.heldCount++;
  }

  /** The park expired: its held messages go back to the `due` FIFOs. The strike count stays. */
  release(recipient: string, nowMs: number): boolean {
    const park = this.parks.get(recipient);
    if (park === undefined || park.untilMs > nowMs || park.held.length === 0) return false;
    for (const job of park.held) this.enqueueDue(job);
    this.heldCount -= park.held.length;
    park.held = [];
    return true;
  }

  /** A send to the recipient went through: its consecutive-131056 count starts over. */
  clearStrikes(recipient: string): void {
    const park = this.parks.get(recipient);
    if (park !== undefined && park.held.length === 0) this.parks.delete(recipient);
  }

  /** Takes out every waiting message (FIFOs and held) whose deadline has passed. */
  takeExpired(nowMs: number): Job[] {
    const past = (job: Job): boolean => job.rec.deadlineAtMs <= nowMs;
    const out: Job[] = [];
    for (const q of this.order) out.push(...q.removeWhere(past));
    for (const park of this.parks.values()) {
      if (park.held.some(past)) {
        const expired = park.held.filter(past);
        out.push(...expired);
        this.heldCount -= expired.length;
        park.held = park.held.filter((job) => !past(job));
      }
    }
    this.depth -= out.length;
    this.headQueue = null;
    this.checkLow();
    return out;
  }

  parkedCount(nowMs: number): number {
    let n = 0;
    for (const park of this.parks.values()) if (park.untilMs > nowMs) n++;
    return n;
  }

  /** Oldest acceptance time among messages in the FIFOs and held ones (backoff ones excluded). */
  oldestCreatedAtMs(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const q of this.order) {
      const head = q.peek();
      if (head !== undefined && head.rec.createdAtMs < oldest) oldest = head.rec.createdAtMs;
    }
    for (const park of this.parks.values()) {
      const first = park.held[0];
      if (first !== undefined && first.rec.createdAtMs < oldest) oldest = first.rec.createdAtMs;
    }
    return oldest;
  }

  private evictIdleParks(): void {
    for (const [recipient, park] of this.parks) {
      if (park.held.length === 0) this.parks.delete(recipient);
      if (this.parks.size < MAX_PARKS / 2) return;
    }
  }
}
