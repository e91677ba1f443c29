/**
 * The dispatcher's shared state: its lanes, the sets the run loop works through, the slot counts
 * that gate sends and that close() waits on, and the effects every part uses (store transitions,
 * final outcomes, background bookkeeping). One instance per dispatcher, passed to the run loop
 * (run-loop.ts), preparation (prepare.ts), requests (request.ts) and controls (control.ts); as a
 * DispatchContext it is also what reactions.ts acts through.
 */
import type { RecordedError } from '../store/types.js';
import { isTemplateText } from '../cloud-api/index.js';
import { DEADLINE_ERROR, type DispatchContext, type Wake } from './context.js';
import { saveLane, saveTenant, type PauseReason } from './control-state.js';
import { Lane, type Job } from './lane.js';
import { broadcastOfKey } from '../broadcasts/ids.js';
import { pushTo, targetMps } from './limits.js';
import { OutcomeWaiters } from './outcome-waiters.js';
import { leaveInStore } from './paging.js';
import { onWake, pump } from './run-loop.js';
import type { DispatchEvent, DispatcherDeps, NumberInfo, Outcome } from './types.js';
import { WakeTimer } from './wake-timer.js';
import { ConfigSchema } from '../config/schema.js';
import { totalSlots, PRIOR_LATENCY_MS } from './capacity.js';
import { LATENCY_HALF_LIFE_MS, LatencyHistogram } from './latency.js';

/** Latencies below this quantile are the upstream's usual answer time (arrival-anchor.ts). */
const ANSWER_FLOOR_QUANTILE = 0.01;


const DEFAULT_SWEEP_MS = 60_000;
/** The config schema's defaults, for dispatchers built without an upstream or limits config. */
const DEFAULT_MAX_IN_FLIGHT: number = ConfigSchema.properties.upstream.properties.maxInFlight.default;
const DEFAULT_MAX_BODY_BYTES: number = ConfigSchema.properties.limits.properties.maxBodyBytes.default;

/** Whether the job's body is a template send, read once per job (a scan of the body text). */
export function isTemplateJob(job: Job): boolean {
  return (job.template ??= isTemplateText(job.rec.body));
}

/**
 * Checked at departure: templates (what changed since admission) and any broadcast's message,
 * whatever its type (its broadcast may have been cancelled since; key `broadcast <id> <idx>`).
 */
export function isDepartureChecked(job: Job): boolean {
  return isTemplateJob(job) || broadcastOfKey(job.rec.idempotencyKey) !== null;
}

export class DispatchState implements DispatchContext {
  readonly random: () => number;
  readonly settings: DispatcherDeps['config']['dispatch'];
  readonly lanes = new Map<string, Lane>();
  /**
   * Ids waiting or in flight, with the lane that holds each: duplicates from submit+recover are
   * ignored. In a fleet a lane can be retired while holding some (src/dispatch/fleet.ts); a later
   * lane of the number may take over a `queued` one (dispatch/paging.ts `take`), and only the lane
   * holding an id forgets it.
   */
  readonly known = new Map<string, Lane>();

  /** The lane no longer holds the message (ended, handed back to the store, or taken over). */
  forget(lane: Lane, id: string): void {
    if (this.known.get(id) === lane) this.known.delete(id);
  }
  readonly pausedTenants = new Map<string, PauseReason>();
  /** Control-state keys being written (control-state.ts), true when changed again meanwhile. */
  readonly controlWrites = new Map<string, boolean>();
  readonly waiters = new OutcomeWaiters();
  /** Lanes an event may have let move: the run loop runs them next. */
  readonly touched = new Set<Lane>();
  /** Lanes with a ready message that found every upstream slot taken, in arrival order (round robin). */
  readonly blocked = new Set<Lane>();
  /** Upstream answer times over all numbers: the prior of a lane that has none yet. */
  readonly latency: LatencyHistogram;
  /** Upstream requests plus store bookkeeping still running: close() waits for these. */
  inFlightTotal = 0;
  /**
   * While the store cannot commit, the dispatcher stops committing new `sending`s until this
   * instant, then lets one through as a probe (prepare.ts storeFailed / storeRecovered).
   */
  storeBackoffUntilMs = 0;
  /** Consecutive failed `sending` commits; > 0: the store is failing. */
  storeFailures = 0;
  /** A probe commit is under way while the store is failing. */
  storeProbing = false;
  /** Upstream requests only: gated by `maxSends`. */
  sendsInFlight = 0;
  readonly sweepMs: number;
  readonly maxSends: number;
  closing = false;
  /** The run loop is running (it is not re-entrant). */
  pumping = false;
  /** Resolves close() once `inFlightTotal` is back to 0. */
  drained: (() => void) | null = null;
  readonly timer: WakeTimer<Wake>;

  constructor(readonly deps: DispatcherDeps) {
    this.settings = deps.config.dispatch;
    this.random = deps.random ?? Math.random;
    this.sweepMs = deps.pausedSweepMs ?? DEFAULT_SWEEP_MS;
    this.maxSends = deps.maxInFlightTotal
      ?? totalSlots(deps.config.upstream?.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT, deps.config.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
    this.latency = new LatencyHistogram(LATENCY_HALF_LIFE_MS, PRIOR_LATENCY_MS, deps.clock.nowMs());
    this.timer = new WakeTimer<Wake>(
      deps.clock,
      (wake, nowMs) => onWake(this, wake, nowMs),
      () => pump(this),
      (err) => deps.log.error({ err: (err as Error).message }, 'dispatch wake-up failed'),
    );
  }

  /** Runs every lane that may move (run-loop.ts). */
  pump(): void {
    pump(this);
  }

  emit(event: DispatchEvent): void {
    if (this.deps.onEvent === undefined) return;
    try {
      this.deps.onEvent(event);
    } catch (err) {
      this.deps.log.error({ err: (err as Error).message }, 'dispatch event listener threw');
    }
  }

  async transition(job: Job, change: Parameters<DispatcherDeps['store']['transition']>[1]): Promise<'applied' | 'refused' | 'error'> {
    const log = this.deps.log;
    const fleet = this.deps.fleet;
    if (change.state === 'queued' && fleet !== undefined) {
      // In a fleet a message goes back to `queued` only under this process's lease: once the number
      // is another's, the message (still `sending` in the store) is the new owner's to send.
      const fence = fleet.heldFence(job.rec.phoneNumberId);
      if (fence === undefined) return 'refused';
      change = { ...change, fence };
    }
    try {
      if (await this.deps.store.transition(job.rec.id, change)) return 'applied';
      log.warn({ id: job.rec.id, state: change.state }, 'store refused the transition: message unknown or already final');
      return 'refused';
    } catch (err) {
      log.error({ id: job.rec.id, state: change.state, err: (err as Error).message }, 'store transition failed');
      return 'error';
    }
  }

  finish(lane: Lane, job: Job, outcome: Outcome): void {
    this.forget(lane, job.rec.id);
    this.waiters.settle(outcome);
    this.emit({
      type: 'final',
      id: job.rec.id,
      tenantId: job.rec.tenantId,
      phoneNumberId: lane.phoneNumberId,
      state: outcome.state,
      to: job.rec.to,
      template: isTemplateJob(job),
      latencyMs: this.deps.clock.nowMs() - job.rec.createdAtMs,
    });
  }

  async expire(lane: Lane, job: Job, lastError: RecordedError | null): Promise<void> {
    await this.endUnsent(lane, job, 'expired', lastError ?? DEADLINE_ERROR);
  }

  /** Suppressed at departure (opted out, capped, undeliverable since admission): never sent. */
  async reject(lane: Lane, job: Job, error: RecordedError): Promise<void> {
    await this.endUnsent(lane, job, 'rejected', error);
  }

  /**
   * Ends a message that was never sent. The `final` event (its charges given back, its tenant
   * event) only when this commit ended it: one the store already holds final was ended by whoever
   * committed that (a broadcast's cancel), and is only forgotten here.
   */
  private async endUnsent(lane: Lane, job: Job, state: 'expired' | 'rejected', error: RecordedError): Promise<void> {
    const outcome: Outcome = { id: job.rec.id, state, status: 0, bodyText: '', wamid: null, error };
    if ((await this.transition(job, { state, atMs: this.deps.clock.nowMs(), lastError: error })) === 'refused') {
      this.forget(lane, job.rec.id);
      this.waiters.settle(outcome);
      return;
    }
    this.finish(lane, job, outcome);
  }

  targetMps(lane: Lane, info: NumberInfo): number {
    return targetMps(lane, info, this.settings.headroom);
  }

  leaveInStore(lane: Lane, job: Job, atMs: number): boolean {
    return !lane.retired && leaveInStore(this, lane, job, atMs);
  }

  requeue(lane: Lane, job: Job, delayMs: number): void {
    if (lane.retired) {
      this.forget(lane, job.rec.id); // the number's new owner pages it from the store
      return;
    }
    lane.depth++;
    if (delayMs <= 0) {
      lane.enqueueDue(job);
      this.touched.add(lane);
    } else {
      this.timer.schedule({ atMs: this.deps.clock.nowMs() + delayMs, kind: 'job', lane, job });
    }
  }

  laneFor(phoneNumberId: string, tenantId: string): Lane {
    let lane = this.lanes.get(phoneNumberId);
    if (lane === undefined) {
      lane = new Lane(phoneNumberId, this.deps.numbers.get(phoneNumberId)?.tenantId ?? tenantId);
      this.lanes.set(phoneNumberId, lane);
    }
    return lane;
  }

  isPaused(lane: Lane, nowMs: number): boolean {
    return lane.paused || this.pausedTenants.has(lane.tenantId) || lane.pausedUntilMs > nowMs;
  }

  isClosing(): boolean {
    return this.closing;
  }

  saveControl(lane: Lane, tenant: boolean): void {
    saveLane(this, lane);
    if (tenant) saveTenant(this, lane.tenantId);
  }

  /** An upstream answer (or network failure) came back after `latencyMs`: feeds the capacity sizing. */
  recordLatency(lane: Lane, latencyMs: number, nowMs: number): void {
    lane.latency.record(latencyMs, nowMs);
    this.latency.record(latencyMs, nowMs);
  }

  /** The upstream's usual answer time for arrival anchors: the low end of everyone's latencies lately (0 without). */
  answerFloorMs(nowMs: number): number {
    return this.latency.floorMs(ANSWER_FLOOR_QUANTILE, nowMs);
  }

  /** A request came back: the busy period's first re-anchors the lane's bucket (arrival-anchor.ts). */
  cameBack(lane: Lane, departedMs: number, backMs: number): void {
    const tatMs = lane.anchor.cameBack(departedMs, backMs);
    if (!Number.isNaN(tatMs)) pushTo(this.deps.pacer, lane.pacerKey, tatMs, backMs);
  }

  /** p99 upstream latency to size the lane by: its own once it has answers, else everyone's. */
  latencyP99Ms(lane: Lane, nowMs: number): number {
    return lane.latency.samples() >= 8 ? lane.latency.quantile(0.99, nowMs) : this.latency.quantile(0.99, nowMs);
  }

  /** The lane has a ready message but every slot is taken: it waits its turn (round robin). */
  block(lane: Lane, nowMs: number): void {
    if (this.blocked.has(lane)) return;
    lane.blockedSinceMs = nowMs;
    this.blocked.add(lane);
  }

  unblock(lane: Lane, nowMs: number): void {
    if (!this.blocked.delete(lane)) return;
    this.deps.onSlotWait?.(nowMs - lane.blockedSinceMs);
  }

  /** Takes an upstream slot for the lane (from `sending` commit to the end of the request). */
  reserve(lane: Lane): void {
    lane.inFlight++;
    this.sendsInFlight++;
    this.inFlightTotal++;
  }

  unreserve(lane: Lane): void {
    lane.inFlight--;
    this.sendsInFlight--;
    this.inFlightTotal--;
    if (this.closing) {
      if (this.inFlightTotal === 0) this.drained?.();
      return;
    }
    // The freed slot goes to lanes that were waiting for one before this lane takes more.
    this.touched.add(lane);
    pump(this);
  }

  /** Work outside requests that must still finish before close() resolves (store writes). */
  background(work: () => Promise<void>): void {
    this.inFlightTotal++;
    work()
      .catch((err: unknown) => this.deps.log.error({ err: (err as Error).message }, 'dispatch bookkeeping failed'))
      .finally(() => {
        this.inFlightTotal--;
        if (this.closing && this.inFlightTotal === 0) this.drained?.();
      });
  }
}
