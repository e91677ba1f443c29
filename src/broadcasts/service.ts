/**
 * Broadcasts as the gateway runs them: create (plan, store), resume at boot, run (runner.ts),
 * track the messages' ends, cancel (its rejections and departure checks: cancel.ts), and the one
 * tenant webhook when a broadcast ends.
 *
 * In a fleet (`owns` given) a broadcast runs only in the process holding its number's lease: the
 * runners follow the leases (adopt, retire) and look every DISCOVER_MS for broadcasts created or
 * handed over; a new owner resumes from the committed cursor. Any process may cancel: the state
 * changes in the store, its queued messages are rejected, and the owner's runner sees it.
 *
 * In memory: one entry per active broadcast (its record and timer), never its recipients.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { TenantConfig } from '../config/schema.js';
import type { Dispatcher, NumberInfo } from '../dispatch/types.js';
import { GatewayError } from '../errors.js';
import type { PolicyEngine } from '../policy/types.js';
import type { MessageState, Store } from '../store/types.js';
import type { TenantWebhookSender } from '../webhooks/index.js';
import type { MessageEndings } from '../gateway/message-ended.js';
import { finishAtMs, isKept, planOf, screenRecipients, type Pace, type RecipientInput } from './plan.js';
import { BroadcastCancels } from './cancel.js';
import { BroadcastRunner } from './runner.js';
import { emptyCounts, type BroadcastListQuery, type BroadcastStore, type MessageEnd, type Rows, type UploadRow } from './store.js';
import { ACTIVE_STATES, STATUS_OF_FINAL, type BroadcastPlan, type BroadcastRecord, type BroadcastState, type RecipientStatusName, type StoredRecipient } from './types.js';
import { newBroadcastId } from './ids.js';

export interface BroadcastSettings {
  /** Seconds of the number's rate a broadcast keeps queued ahead in its lane (transactional sends wait behind at most this). */
  aheadSec: number;
  /** Recipients admitted into the queue per step at most. */
  chunk: number;
  /** Default deadline of a broadcast's messages, seconds (beyond 24 h so waiting recipients get their slots). */
  deadlineSec: number;
  /** Ended broadcasts and their recipients are deleted this long after they ended (the message store's retention). */
  retentionMs?: number;
}

export const DEFAULT_BROADCAST_SETTINGS: BroadcastSettings = { aheadSec: 1, chunk: 2_000, deadlineSec: 48 * 3600 };

export interface BroadcastDeps {
  store: Store;
  broadcasts: BroadcastStore;
  policy: PolicyEngine;
  dispatcher: Pick<Dispatcher, 'submit' | 'queued' | 'estimateWaitMs' | 'snapshot'>;
  numbers: { get(phoneNumberId: string): NumberInfo | undefined };
  webhooks: Pick<TenantWebhookSender, 'enqueue'>;
  /** The one place an unsent message's end is settled (gateway/message-ended.ts): a cancel's rejections go there. */
  endings: Pick<MessageEndings, 'ended'>;
  clock: Clock;
  headroom: number;
  settings: BroadcastSettings;
  log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** In a fleet: whether this process holds the number's lease (only then it runs its broadcasts). Absent: it runs them all. */
  owns?: (phoneNumberId: string) => boolean;
}

/** A validated create request (the route parses the body). */
export interface CreateRequest {
  tenant: TenantConfig;
  phoneNumberId: string;
  /** Cloud API body without `to`. */
  message: Record<string, unknown>;
  category: string;
  notBeforeMs: number;
  deadlineAtMs: number;
  dryRun: boolean;
  idempotencyKey: string | null;
  /** Hash of the request body (idempotency conflicts). */
  bodyHash: string | null;
  count: number;
  /** Iterated twice: the plan's pass, then the store's (sendable ones only). */
  recipients: () => Rows<RecipientInput>;
}

/** Ended broadcasts are kept as long as final messages are by default (30 days). */
const DEFAULT_RETENTION_MS = 30 * 86_400_000;
const PURGE_EVERY_MS = 3_600_000;

/** How long an upload may wait for the create that names it. */
const UPLOAD_KEEP_MS = 48 * 3_600_000;
/** A fleet looks for broadcasts of the numbers it holds this often (created elsewhere, handed over). */
const DISCOVER_MS = 1_000;
/** A repeated create waits this long for the first one (another process, maybe) to finish storing. */
const CREATING_WAIT_MS = 10_000;

export class BroadcastService {
  private readonly runners = new Map<string, BroadcastRunner>();
  /** Active broadcasts per number: a message's end is looked up only on numbers that run one. */
  private readonly numbersRunning = new Map<string, number>();
  /** Cancels' rejections and the departure check of broadcast messages (cancel.ts). */
  readonly cancels: BroadcastCancels;
  private ends: MessageEnd[] = [];
  private endsScheduled = false;
  private flushing: Promise<void> = Promise.resolve();
  private closed = false;
  private purgeTimer: NodeJS.Timeout | undefined;
  private discoverTimer: NodeJS.Timeout | undefined;
  private discovering: Promise<void> | null = null;

  constructor(private readonly deps: BroadcastDeps) {
    this.cancels = new BroadcastCancels(deps, {
      countsHeld: (record) => (this.runners.get(record.id)?.record === record ? record.counts : undefined),
      announce: (record) => this.announce(record),
    });
  }

  /** The broadcasts this process runs now (metrics). */
  *active(): Generator<BroadcastRecord> {
    for (const runner of this.runners.values()) yield runner.record;
  }

  /** Whether this process runs the number's broadcasts (in a fleet: it holds the number's lease). */
  owns(phoneNumberId: string): boolean {
    return this.deps.owns?.(phoneNumberId) ?? true;
  }

  /** Streamed recipient lists (POST /v1/broadcasts/uploads). */
  uploads() {
    const b = this.deps.broadcasts;
    return {
      append: (tenantId: string, id: string, first: number, rows: UploadRow[]) => b.appendUpload(tenantId, id, first, rows),
      finish: (id: string, tenantId: string, count: number) => b.finishUpload(id, tenantId, count, this.deps.clock.nowMs()),
      drop: (tenantId: string, id: string) => b.dropUpload(tenantId, id),
      get: (tenantId: string, id: string) => b.upload(tenantId, id),
      rows: (tenantId: string, id: string) => b.uploadRows(tenantId, id),
    };
  }

  /** Boot: resumes every broadcast that had not ended (after the dispatcher recovered its queue). */
  async start(): Promise<void> {
    await this.deps.broadcasts.dropCreating();
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_EVERY_MS);
    this.purgeTimer.unref();
    void this.purge();
    // Uploads are for a create soon after; unreferenced ones go after the idempotency horizon.
    await this.deps.broadcasts.dropOldUploads(this.deps.clock.nowMs() - UPLOAD_KEEP_MS);
    await this.resume(() => true);
    if (this.deps.owns !== undefined) {
      this.discoverTimer = setInterval(() => void this.discover(), DISCOVER_MS);
      this.discoverTimer.unref();
    }
  }

  /**
   * Runs the stored broadcasts of the numbers `mine` picks (and this process owns) that no runner
   * here runs yet: cancelled ones still draining (their queued messages are refused at departure)
   * and active ones, each from its committed cursor.
   */
  private async resume(mine: (phoneNumberId: string) => boolean): Promise<void> {
    const b = this.deps.broadcasts;
    const draining = await b.draining(this.deps.clock.nowMs());
    const active = await b.active();
    for (const record of [...draining, ...active]) {
      // Checked and tracked in one turn: two resumes (boot, adopt, discovery) never run one broadcast twice.
      if (this.closed || !mine(record.phoneNumberId) || !this.owns(record.phoneNumberId) || this.runners.has(record.id)) continue;
      if (record.state === 'cancelled') this.cancels.drainingHere(record.id);
      const runner = this.track(record);
      try {
        await runner.reconcile();
      } catch (err) {
        // Its ends are read back again before it can end.
        this.deps.log.error({ err, broadcast: record.id }, 'reading back a resumed broadcast\'s message ends failed');
      }
      runner.wake();
    }
  }

  /** A fleet: broadcasts created elsewhere, or of numbers this process took over. */
  private discover(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.discovering ??= this.resume(() => true)
      .catch((err: unknown) => this.deps.log.error({ err }, 'looking for broadcasts to run failed; trying again'))
      .finally(() => (this.discovering = null));
    return this.discovering;
  }

  /** A fleet took these numbers' leases: their broadcasts run here now. */
  async adopt(numbers: ReadonlyArray<{ phoneNumberId: string }>): Promise<void> {
    if (this.closed || numbers.length === 0) return;
    await this.discovering;
    const ids = new Set(numbers.map((n) => n.phoneNumberId));
    await this.resume((id) => ids.has(id)).catch((err: unknown) => this.deps.log.error({ err }, 'resuming the broadcasts of adopted numbers failed; trying again'));
  }

  /** The number's lease is going: its runners stop after the chunk under way (committed); the next owner resumes them. */
  async retire(phoneNumberId: string): Promise<void> {
    const leaving = [...this.runners.values()].filter((r) => r.record.phoneNumberId === phoneNumberId);
    await Promise.all(leaving.map((runner) => runner.halt()));
    await this.flushEnds();
    for (const runner of leaving) this.untrack(runner.record);
  }

  /** Deletes broadcasts ended longer ago than the retention; a failure is tried again next period. */
  private async purge(): Promise<void> {
    try {
      const retentionMs = this.deps.settings.retentionMs ?? DEFAULT_RETENTION_MS;
      while (!this.closed && (await this.deps.broadcasts.purgeEnded(this.deps.clock.nowMs() - retentionMs)) > 0);
    } catch (err) {
      if (!this.closed) this.deps.log.error({ err }, 'purging ended broadcasts failed; trying again later');
    }
  }

  /** Plans (dry run: only plans) or creates a broadcast. Throws GatewayError on conflicts. */
  async create(req: CreateRequest): Promise<{ record: BroadcastRecord; created: boolean } | { plan: BroadcastPlan }> {
    const nowMs = this.deps.clock.nowMs();
    const { tenant, phoneNumberId } = req;
    if (!req.dryRun && req.idempotencyKey !== null) {
      const prior = await this.deps.broadcasts.byKey(tenant.id, req.idempotencyKey);
      if (prior !== null) return this.repeat(prior, req);
    }
    const screening = await screenRecipients(this.deps.policy, {
      tenantId: tenant.id, phoneNumberId, category: req.category, message: req.message, count: req.count, recipients: req.recipients(), nowMs,
    });
    // The tenant's use of its messaging limit (in a fleet, the shared count).
    const use = tenant.messagingLimit === 'unlimited' ? undefined : await this.deps.policy.tierUse(tenant.id);
    const free = use === undefined || use.limit === 'unlimited' ? null : Math.max(0, use.limit - use.used);
    const limit = tenant.messagingLimit === 'unlimited' ? null : (tenant.messagingLimit as number);
    const plan = planOf(screening, free, limit, this.pace(phoneNumberId, req.category, nowMs), Math.max(nowMs, req.notBeforeMs), nowMs);
    if (req.dryRun) return { plan };

    const record: BroadcastRecord = {
      id: newBroadcastId(nowMs), tenantId: tenant.id, phoneNumberId, idempotencyKey: req.idempotencyKey, bodyHash: req.bodyHash,
      message: JSON.stringify(req.message), category: req.category, state: req.notBeforeMs > nowMs ? 'scheduled' : 'running', plan,
      total: screening.sendable, cursor: 0, counts: { ...emptyCounts(), pending: screening.sendable }, waitingForLimit: false,
      createdAtMs: nowMs, notBeforeMs: req.notBeforeMs, deadlineAtMs: req.deadlineAtMs, endedAtMs: null,
    };
    const stored = await this.deps.broadcasts.create(record, sendableOf(req.recipients(), screening.keep));
    if (stored !== record) return this.repeat(stored, req);
    if (record.total === 0) {
      await this.finish(record, 'completed', null);
    } else if (this.owns(phoneNumberId)) {
      this.track(record).wake();
    }
    // Otherwise the number's owner finds it (discover).
    return { record, created: true };
  }

  async get(tenantId: string, id: string): Promise<BroadcastRecord | null> {
    const running = this.runners.get(id)?.record;
    if (running?.tenantId === tenantId && this.deps.owns === undefined) return running;
    // In a fleet the stored counts are the fleet's (ends recorded by any process); the runner adds the limit's next slot.
    const stored = await this.deps.broadcasts.get(tenantId, id);
    if (stored !== null && running?.tenantId === tenantId && running.slotFreeAtMs !== undefined) stored.slotFreeAtMs = running.slotFreeAtMs;
    return stored;
  }

  /**
   * Operators' page of broadcasts (GET /admin/broadcasts), newest first: stored rows; in one
   * process, the running ones' in-memory record (its counts and the limit's next free slot are the
   * freshest); in a fleet, the stored ones every process shares.
   */
  async list(query: BroadcastListQuery): Promise<{ data: object[]; next: string | null }> {
    const page = await this.deps.broadcasts.list(query);
    return {
      data: page.records.map((stored) => {
        const record = this.deps.owns === undefined ? this.runners.get(stored.id)?.record ?? stored : stored;
        const view = this.view(record) as { counts: Record<string, number>; eta_seconds: number; finish_at: string; ended_at: string | null };
        return {
          id: record.id, tenant: record.tenantId, phone_number_id: record.phoneNumberId, state: record.state, category: record.category,
          created_at: new Date(record.createdAtMs).toISOString(), ended_at: view.ended_at,
          recipients: record.total, counts: view.counts, waiting_for_limit: view.counts.waiting_for_limit ?? 0,
          eta_seconds: view.eta_seconds, finish_at: view.finish_at,
        };
      }),
      next: page.next,
    };
  }

  /** The tracking view: state, plan, counts and an updated ETA. */
  view(record: BroadcastRecord): object {
    const c = record.counts;
    const waiting = record.waitingForLimit ? c.pending : 0;
    const nowMs = this.deps.clock.nowMs();
    const active = ACTIVE_STATES.has(record.state);
    const finish = active
      ? finishAtMs(this.pace(record.phoneNumberId, record.category, nowMs), {
          sendableNow: c.pending - waiting, waitingForLimit: waiting, slotsUsed: 0, startMs: Math.max(nowMs, record.notBeforeMs), nowMs,
          ...(record.slotFreeAtMs === undefined ? {} : { slotFreeAtMs: Math.max(nowMs, record.slotFreeAtMs) }),
        })
      : record.endedAtMs ?? nowMs;
    return {
      id: record.id,
      state: record.state,
      phone_number_id: record.phoneNumberId,
      plan: record.plan,
      counts: {
        pending: c.pending - waiting, waiting_for_limit: waiting, queued: c.queued, sent: c.sent, failed: c.failed,
        expired: c.expired, rejected: c.rejected, cancelled: c.cancelled,
      },
      eta_seconds: Math.max(0, Math.ceil((finish - nowMs) / 1000)),
      finish_at: new Date(finish).toISOString(),
      created_at: new Date(record.createdAtMs).toISOString(),
      not_before: new Date(record.notBeforeMs).toISOString(),
      deadline_at: new Date(record.deadlineAtMs).toISOString(),
      ended_at: record.endedAtMs === null ? null : new Date(record.endedAtMs).toISOString(),
    };
  }

  /**
   * Ends what has not been sent: pending recipients and queued messages end `cancelled`, from any
   * process of a fleet. The state changes durably first (the owner's runner admits no further
   * chunk: its commit is refused, and departure checks read it), then every message of the
   * broadcast still `queued` is rejected (none of them can be committed `sending` after that), and
   * the answer waits for those already `sending` to end. Whatever either step misses (a chunk in
   * flight, a retry back to `queued`) is refused at its departure (cancel.ts), by whichever
   * process dispatches it: nothing of it leaves after the answer.
   */
  async cancel(tenantId: string, id: string): Promise<BroadcastRecord | null> {
    const runner = this.runners.get(id);
    const here = runner !== undefined && runner.record.tenantId === tenantId;
    const record = here ? runner.record : await this.deps.broadcasts.get(tenantId, id);
    if (record === null) return null;
    if (record.state === 'cancelled' && record.counts.queued > 0) {
      // Ended, its queued messages maybe not yet rejected (a cancel cut short by a store failure, retried): now they are.
      await this.cancels.settle(record, here);
      return here ? record : ((await this.deps.broadcasts.get(tenantId, id)) ?? record);
    }
    if (!ACTIVE_STATES.has(record.state)) return record;
    // No chunk is admitted once the one under way is committed.
    if (here) await runner.halt();
    try {
      const nowMs = this.deps.clock.nowMs();
      if (!(await this.deps.broadcasts.end(tenantId, id, 'cancelled', nowMs, record.counts, 'cancelled'))) {
        // Ended meanwhile (cancelled by another process): its stored state holds.
        if (here) await runner.refresh();
        return here ? record : this.deps.broadcasts.get(tenantId, id);
      }
      record.state = 'cancelled';
      record.endedAtMs = nowMs;
      record.waitingForLimit = false;
      if (here) this.cancels.drainingHere(id);
      await this.cancels.settle(record, here);
    } finally {
      // Here, announced once the messages in flight have ended too (the runner drains).
      if (here) runner.resume();
    }
    return here ? record : ((await this.deps.broadcasts.get(tenantId, id)) ?? record);
  }

  /** A message ended (dispatcher final event): its recipient's count moves, batched per turn. */
  messageEnded(event: { id: string; tenantId: string; phoneNumberId: string; state: MessageState }): void {
    if (this.closed || !this.numbersRunning.has(event.phoneNumberId)) return;
    const status = STATUS_OF_FINAL[event.state];
    if (status === undefined) return;
    this.ends.push({ tenantId: event.tenantId, messageId: event.id, status });
    if (this.endsScheduled) return;
    this.endsScheduled = true;
    setImmediate(() => void this.flushEnds());
  }

  /** Stops admitting (a chunk under way is committed first); the store's connection or file closes. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.purgeTimer);
    clearInterval(this.discoverTimer);
    await this.discovering;
    await Promise.all([...this.runners.values()].map((runner) => runner.halt()));
    for (const runner of this.runners.values()) runner.stop();
    await this.flushEnds();
    await this.deps.broadcasts.close();
  }

  /** Applies the ends batched so far (also what runners await before judging completion). */
  flushEnds(): Promise<void> {
    this.endsScheduled = false;
    if (this.ends.length === 0) return this.flushing;
    const batch = this.ends;
    this.ends = [];
    // One batch at a time, in order.
    this.flushing = this.flushing.then(async () => {
      try {
        const touched = await this.deps.broadcasts.endMessages(batch, (id) => this.runners.get(id)?.record.counts);
        for (const id of touched) this.runners.get(id)?.wake();
      } catch (err) {
        // Counts only: the runner's reconcile reads the messages' states again before it ends the broadcast.
        this.deps.log.error({ err }, 'recording broadcast message ends failed');
      }
    });
    return this.flushing;
  }

  /** Ends a broadcast: state and pending recipients, then the tenant's webhook (once, by whoever ended it). */
  async finish(record: BroadcastRecord, state: BroadcastState, pendingAs: RecipientStatusName | null): Promise<void> {
    const nowMs = this.deps.clock.nowMs();
    if (!(await this.deps.broadcasts.end(record.tenantId, record.id, state, nowMs, record.counts, pendingAs))) {
      // Cancelled elsewhere meanwhile: the runner drains it as cancelled.
      const runner = this.runners.get(record.id);
      if (runner !== undefined) {
        await runner.refresh();
        return;
      }
    }
    record.state = state;
    record.endedAtMs = nowMs;
    record.waitingForLimit = false;
    this.announce(record);
  }

  /** A broadcast read as cancelled in the store while it ran here: its runner drains it. */
  noteCancelledHere(id: string): void {
    this.cancels.drainingHere(id);
  }

  /** The one `broadcast.ended` webhook, once every message ended; the broadcast leaves memory. */
  announce(record: BroadcastRecord): void {
    this.untrack(record);
    this.cancels.forget(record.id);
    this.deps.webhooks.enqueue(record.tenantId, {
      type: 'broadcast.ended', id: record.id, state: record.state, phoneNumberId: record.phoneNumberId, counts: record.counts,
      timestamp: this.deps.clock.nowMs(),
    }, { orderKey: `broadcast:${record.id}`, eventId: `evt_broadcast_${record.id}` }).catch((err: unknown) => {
      this.deps.log.error({ err, broadcast: record.id }, 'queueing the broadcast.ended webhook failed');
    });
  }

  /** A runner found its number's lease gone: it leaves (the next owner resumes it). */
  leave(record: BroadcastRecord): void {
    this.untrack(record);
  }

  /** The number's pace for a broadcast now: learned rate, warm-up cap, what is queued ahead. */
  pace(phoneNumberId: string, category: string, nowMs: number): Pace {
    const info = this.deps.numbers.get(phoneNumberId);
    const lane = this.deps.dispatcher.snapshot().find((l) => l.phoneNumberId === phoneNumberId);
    let rateMps = lane?.effectiveMps ?? (info === undefined ? 1 : info.mps * this.deps.headroom);
    const caps = this.deps.policy.warmupCapsOf(phoneNumberId, nowMs);
    if (caps !== null) rateMps = Math.min(rateMps, (caps.limit * 1000) / caps.windowMs);
    const backlogMs = this.deps.dispatcher.estimateWaitMs(phoneNumberId, { priority: priorityOf(category) });
    return { rateMps: Math.max(rateMps, 1e-3), backlogMs: Number.isFinite(backlogMs) ? backlogMs : 0 };
  }

  /**
   * The same Idempotency-Key again: the stored broadcast, once stored (a create still under way,
   * here or in another process, is waited for), or a conflict when the request differs.
   */
  private async repeat(prior: BroadcastRecord, req: CreateRequest): Promise<{ record: BroadcastRecord; created: boolean }> {
    const untilMs = Date.now() + CREATING_WAIT_MS;
    while (prior.state === 'creating' && Date.now() < untilMs) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      prior = (await this.deps.broadcasts.byKey(req.tenant.id, req.idempotencyKey!)) ?? prior;
    }
    if (prior.state === 'creating') {
      throw new GatewayError('IDEMPOTENCY_CONFLICT', 'A request with this Idempotency-Key is still storing its broadcast; retry in a few seconds');
    }
    if (prior.bodyHash !== req.bodyHash) throw new GatewayError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used earlier with a different broadcast request');
    return { record: (this.deps.owns === undefined ? this.runners.get(prior.id)?.record : undefined) ?? prior, created: false };
  }

  private track(record: BroadcastRecord): BroadcastRunner {
    const runner = new BroadcastRunner(record, this.deps, this);
    this.runners.set(record.id, runner);
    this.numbersRunning.set(record.phoneNumberId, (this.numbersRunning.get(record.phoneNumberId) ?? 0) + 1);
    return runner;
  }

  private untrack(record: BroadcastRecord): void {
    const runner = this.runners.get(record.id);
    if (runner === undefined) return;
    runner.stop();
    this.runners.delete(record.id);
    // Its departures are refused by whoever dispatches the number now (the store says cancelled).
    this.cancels.forget(record.id);
    const n = (this.numbersRunning.get(record.phoneNumberId) ?? 1) - 1;
    if (n <= 0) this.numbersRunning.delete(record.phoneNumberId);
    else this.numbersRunning.set(record.phoneNumberId, n);
  }
}

/** Lane priority of a broadcast's messages, as a single send of that category would get. */
export function priorityOf(category: string): 0 | 1 {
  return category === 'marketing' || category === 'unknown' ? 1 : 0;
}

/** The sendable recipients, numbered 0… in order, as stored. */
function sendableOf(recipients: Rows<RecipientInput>, keep: Uint8Array): Rows<StoredRecipient> {
  let i = 0;
  let idx = 0;
  // The plan's pass validated the kept ones: their digits are those it kept.
  const pick = (r: RecipientInput): StoredRecipient | null => (isKept(keep, i++)
    ? { idx: idx++, to: digitsOf(r.toInput), toInput: r.toInput, components: r.components === null ? null : JSON.stringify(r.components) }
    : null);
  if (Symbol.iterator in recipients) {
    return (function* () {
      for (const r of recipients) {
        const s = pick(r);
        if (s !== null) yield s;
      }
    })();
  }
  return (async function* () {
    for await (const r of recipients) {
      const s = pick(r);
      if (s !== null) yield s;
    }
  })();
}

function digitsOf(input: string): string {
  let digits = '';
  for (let i = 0; i < input.length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 48 && c <= 57) digits += input[i];
  }
  return digits;
}

/** Hash of a create request's bytes and number, compared when an Idempotency-Key is reused. */
export function requestHash(phoneNumberId: string, body: Buffer | string): string {
  return createHash('sha256').update(phoneNumberId).update('\n').update(body).digest('base64url');
}
