/**
 * Broadcasts as the gateway runs them: create (plan, store), resume at boot, run (runner.ts),
 * track the messages' ends, cancel, and the one tenant webhook when a broadcast ends.
 *
 * In memory: one entry per active broadcast (its record and timer), never its recipients.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { TenantConfig } from '../config/schema.js';
import type { Dispatcher, NumberInfo } from '../dispatch/types.js';
import { ERRORS, GatewayError } from '../errors.js';
import type { PolicyEngine } from '../policy/types.js';
import type { MessageState, RecordedError, Store } from '../store/types.js';
import type { TenantWebhookSender } from '../webhooks/index.js';
import { finishAtMs, isKept, planOf, screenRecipients, type Pace, type RecipientInput } from './plan.js';
import { BroadcastRunner } from './runner.js';
import { BroadcastStore, emptyCounts, type BroadcastListQuery } from './store.js';
import { ACTIVE_STATES, type BroadcastPlan, type BroadcastRecord, type BroadcastState, type RecipientStatusName, type StoredRecipient } from './types.js';
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
  clock: Clock;
  headroom: number;
  settings: BroadcastSettings;
  log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void };
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
  recipients: () => Iterable<RecipientInput>;
}

const FINAL_TO_STATUS: Partial<Record<MessageState, RecipientStatusName>> = {
  sent: 'sent', delivered: 'sent', read: 'sent', failed: 'failed', expired: 'expired', rejected: 'rejected',
};

/** Ended broadcasts are kept as long as final messages are by default (30 days). */
const DEFAULT_RETENTION_MS = 30 * 86_400_000;
const PURGE_EVERY_MS = 3_600_000;

/** How long an upload may wait for the create that names it. */
const UPLOAD_KEEP_MS = 48 * 3_600_000;

/** What a message of a cancelled broadcast records (the catalogue's BROADCAST_CANCELLED). */
export const CANCELLED_ERROR: RecordedError = {
  code: ERRORS.BROADCAST_CANCELLED.graphCode, title: ERRORS.BROADCAST_CANCELLED.title,
  details: 'The broadcast was cancelled before this message was sent', httpStatus: ERRORS.BROADCAST_CANCELLED.status,
};

export class BroadcastService {
  private readonly runners = new Map<string, BroadcastRunner>();
  /** Active broadcasts per number: a message's end is looked up only on numbers that run one. */
  private readonly numbersRunning = new Map<string, number>();
  /** Cancelled broadcasts whose queued messages are still ending (their departures are refused). */
  private readonly cancelled = new Set<string>();
  private ends: Array<{ messageId: string; status: RecipientStatusName }> = [];
  private endsScheduled = false;
  private closed = false;
  private purgeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: BroadcastDeps) {}

  /** The broadcasts this process runs now (metrics). */
  *active(): Generator<BroadcastRecord> {
    for (const runner of this.runners.values()) yield runner.record;
  }

  /** Streamed recipient lists (POST /v1/broadcasts/uploads). */
  uploads() {
    const b = this.deps.broadcasts;
    return {
      append: (id: string, first: number, rows: Array<{ toInput: string; components: string | null }>) => b.appendUpload(id, first, rows),
      finish: (id: string, tenantId: string, count: number) => b.finishUpload(id, tenantId, count, this.deps.clock.nowMs()),
      drop: (id: string) => b.dropUpload(id),
      get: (tenantId: string, id: string) => b.upload(tenantId, id),
      rows: (id: string) => b.uploadRows(id),
    };
  }

  /** Boot: resumes every broadcast that had not ended (after the dispatcher recovered its queue). */
  async start(): Promise<void> {
    this.deps.broadcasts.dropCreating();
    this.purgeTimer = setInterval(() => void this.purge(), PURGE_EVERY_MS);
    this.purgeTimer.unref();
    void this.purge();
    // Uploads are for a create soon after; unreferenced ones go after the idempotency horizon.
    for (const id of this.deps.broadcasts.oldUploads(this.deps.clock.nowMs() - UPLOAD_KEEP_MS)) this.deps.broadcasts.dropUpload(id);
    // A cancel's refusals hold across a restart: its queued templates are still refused at departure.
    for (const record of this.deps.broadcasts.draining(this.deps.clock.nowMs())) {
      this.cancelled.add(record.id);
      const runner = this.track(record);
      await runner.reconcile();
      runner.wake();
    }
    for (const record of this.deps.broadcasts.active()) {
      const runner = this.track(record);
      await runner.reconcile();
      runner.wake();
    }
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
      const prior = this.deps.broadcasts.byKey(tenant.id, req.idempotencyKey);
      if (prior !== null) return this.repeat(prior, req);
    }
    const screening = await screenRecipients(this.deps.policy, {
      tenantId: tenant.id, phoneNumberId, category: req.category, message: req.message, count: req.count, recipients: req.recipients(), nowMs,
    });
    const free = this.deps.policy.messagingLimitFree(tenant.id, nowMs);
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
      this.finish(record, 'completed', null);
    } else {
      this.track(record).wake();
    }
    return { record, created: true };
  }

  get(tenantId: string, id: string): BroadcastRecord | null {
    return this.runners.get(id)?.record.tenantId === tenantId ? this.runners.get(id)!.record : this.deps.broadcasts.get(tenantId, id);
  }

  /**
   * Operators' page of broadcasts (GET /admin/broadcasts), newest first: stored rows, with the
   * running ones' in-memory record (its counts and the limit's next free slot are the freshest).
   */
  list(query: BroadcastListQuery): { data: object[]; next: string | null } {
    const page = this.deps.broadcasts.list(query);
    return {
      data: page.records.map((stored) => {
        const record = this.runners.get(stored.id)?.record ?? stored;
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

  /** Ends what has not been sent: pending recipients and queued messages end `cancelled`. */
  async cancel(tenantId: string, id: string): Promise<BroadcastRecord | null> {
    const runner = this.runners.get(id);
    if (runner === undefined || runner.record.tenantId !== tenantId) return this.deps.broadcasts.get(tenantId, id);
    const record = runner.record;
    if (!ACTIVE_STATES.has(record.state)) return record;
    // No chunk is admitted once the one under way is committed.
    await runner.halt();
    const nowMs = this.deps.clock.nowMs();
    this.deps.broadcasts.end(id, 'cancelled', nowMs, record.counts, 'cancelled');
    record.state = 'cancelled';
    record.endedAtMs = nowMs;
    record.waitingForLimit = false;
    // Messages already in the queue end `rejected` (counted cancelled) instead of leaving: a template
    // at its departure check (departureRefusal below: exact, the dispatcher owns the message); a
    // free-form message, not re-checked at departure, here if the store still has it `queued`.
    this.cancelled.add(id);
    if (!runner.isTemplate) await this.rejectQueued(runner, nowMs);
    // Announced once the messages in flight have ended too (the runner drains).
    runner.resume();
    return record;
  }

  /**
   * A template about to leave (the dispatcher's departure check): refused when its broadcast was
   * cancelled. Broadcast messages carry the idempotency key `broadcast <id> <idx>`.
   */
  departureRefusal(rec: { idempotencyKey: string | null }): RecordedError | null {
    const key = rec.idempotencyKey;
    if (this.cancelled.size === 0 || key === null || !key.startsWith('broadcast ')) return null;
    return this.cancelled.has(key.slice(10, key.indexOf(' ', 10))) ? CANCELLED_ERROR : null;
  }

  /** Free-form messages of a cancelled broadcast still `queued` in the store end rejected. */
  private async rejectQueued(runner: BroadcastRunner, nowMs: number): Promise<void> {
    const record = runner.record;
    for (let after = -1; ;) {
      const queued = this.deps.broadcasts.queuedOf(record.id, after, 1000);
      if (queued.length === 0) return;
      after = queued[queued.length - 1]!.idx;
      const ended: Array<{ messageId: string; status: RecipientStatusName }> = [];
      await Promise.all(queued.map(async (q) => {
        // A message already `sending` is left to end as it will (it may be on its way upstream).
        if ((await this.deps.store.get(record.tenantId, q.messageId))?.state !== 'queued') return;
        const done = await this.deps.store.transition(q.messageId, { state: 'rejected', atMs: nowMs, lastError: CANCELLED_ERROR });
        if (!done) return;
        ended.push({ messageId: q.messageId, status: 'cancelled' });
        await this.deps.webhooks.enqueue(record.tenantId, {
          type: 'message.status', id: q.messageId, wamid: null, status: 'rejected', recipient: q.to, phoneNumberId: record.phoneNumberId,
          timestamp: nowMs, errors: [CANCELLED_ERROR],
        }, { orderKey: q.to, eventId: `evt_final_${q.messageId}` });
      }));
      this.deps.broadcasts.endMessages(ended, (bid) => (bid === record.id ? record.counts : undefined));
    }
  }

  /** A message ended (dispatcher final event): its recipient's count moves, batched per turn. */
  messageEnded(event: { id: string; phoneNumberId: string; state: MessageState }): void {
    if (this.closed || !this.numbersRunning.has(event.phoneNumberId)) return;
    const status = FINAL_TO_STATUS[event.state];
    if (status === undefined) return;
    this.ends.push({ messageId: event.id, status });
    if (this.endsScheduled) return;
    this.endsScheduled = true;
    setImmediate(() => this.flushEnds());
  }

  /** Stops admitting (a chunk under way is committed first) and closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.purgeTimer);
    await Promise.all([...this.runners.values()].map((runner) => runner.halt()));
    for (const runner of this.runners.values()) runner.stop();
    this.flushEnds();
    this.deps.broadcasts.close();
  }

  /** A message of a cancelled broadcast refused at its departure counts as cancelled. */
  readonly statusFor = (broadcastId: string, status: RecipientStatusName): RecipientStatusName =>
    status === 'rejected' && this.cancelled.has(broadcastId) ? 'cancelled' : status;

  /** Applies the ends batched so far (also what runners call before judging completion). */
  flushEnds(): void {
    this.endsScheduled = false;
    if (this.ends.length === 0) return;
    const batch = this.ends;
    this.ends = [];
    try {
      const touched = this.deps.broadcasts.endMessages(batch, (id) => this.runners.get(id)?.record.counts, this.statusFor);
      for (const id of touched) this.runners.get(id)?.wake();
    } catch (err) {
      // Counts only: the runner's reconcile reads the messages' states again before it ends the broadcast.
      this.deps.log.error({ err }, 'recording broadcast message ends failed');
    }
  }

  /** Ends a broadcast: state and pending recipients, then the tenant's webhook. */
  finish(record: BroadcastRecord, state: BroadcastState, pendingAs: RecipientStatusName | null): void {
    const nowMs = this.deps.clock.nowMs();
    this.deps.broadcasts.end(record.id, state, nowMs, record.counts, pendingAs);
    record.state = state;
    record.endedAtMs = nowMs;
    record.waitingForLimit = false;
    this.announce(record);
  }

  /** The one `broadcast.ended` webhook, once every message ended; the broadcast leaves memory. */
  announce(record: BroadcastRecord): void {
    this.untrack(record);
    this.cancelled.delete(record.id);
    this.deps.webhooks.enqueue(record.tenantId, {
      type: 'broadcast.ended', id: record.id, state: record.state, phoneNumberId: record.phoneNumberId, counts: record.counts,
      timestamp: this.deps.clock.nowMs(),
    }, { orderKey: `broadcast:${record.id}`, eventId: `evt_broadcast_${record.id}` }).catch((err: unknown) => {
      this.deps.log.error({ err, broadcast: record.id }, 'queueing the broadcast.ended webhook failed');
    });
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

  private repeat(prior: BroadcastRecord, req: CreateRequest): { record: BroadcastRecord; created: boolean } {
    if (prior.state === 'creating') {
      throw new GatewayError('IDEMPOTENCY_CONFLICT', 'A request with this Idempotency-Key is still storing its broadcast; retry in a few seconds');
    }
    if (prior.bodyHash !== req.bodyHash) throw new GatewayError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used earlier with a different broadcast request');
    return { record: this.runners.get(prior.id)?.record ?? prior, created: false };
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
function* sendableOf(recipients: Iterable<RecipientInput>, keep: Uint8Array): Generator<StoredRecipient> {
  let i = 0;
  let idx = 0;
  for (const r of recipients) {
    if (isKept(keep, i++)) {
      // The plan's pass validated it: the digits are those it kept.
      const to = digitsOf(r.toInput);
      yield { idx: idx++, to, toInput: r.toInput, components: r.components === null ? null : JSON.stringify(r.components) };
    }
  }
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
