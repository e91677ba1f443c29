/**
 * Runs one broadcast: admits its stored recipients into the number's queue a chunk at a time,
 * each through the same policy admission as a single send, and never more than `aheadSec` of the
 * number's rate ahead of the lane, so the lane paces them like any send and a transactional send
 * on the same number waits behind at most that much (a marketing broadcast goes at priority 1:
 * authentication, utility and service sends always pass it).
 *
 * A recipient the messaging limit refuses is not failed: the runner stops there, notes
 * `waiting_for_limit`, and tries again when the refusal says a slot frees (at most every
 * POLL_MS, so a clock moved by hand is followed). Order is kept: recipients go in list order.
 *
 * Exactly once: each message is enqueued with the idempotency key `broadcast <id> <idx>`, and the
 * chunk's cursor is committed after its messages. After a crash the chunk is admitted again and
 * the store answers its messages as duplicates (nothing new stored, nothing submitted again).
 *
 * In a fleet a runner lives in the process holding its number's lease: it leaves when the lease
 * goes (the next owner resumes from the committed cursor), admits through the fleet's policy
 * state (admitAsync), and reads its broadcast's state back now and then (a cancel by another
 * process); a chunk commit the store refuses (cancelled meanwhile) rejects the chunk's messages.
 */
import { GatewayError } from '../errors.js';
import type { Admission, AdmitInput } from '../gateway/ports.js';
import { isSharedPolicy } from '../policy/shared-admission.js';
import { newMessageId } from '../gateway/ids.js';
import { broadcastMessageKey } from './ids.js';
import type { MessageRecord, NewMessage } from '../store/types.js';
import type { BroadcastDeps, BroadcastService } from './service.js';
import { priorityOf } from './service.js';
import type { MessageEnd } from './store.js';
import { STATUS_OF_FINAL, type BroadcastRecord, type StoredRecipient } from './types.js';

/** Longest sleep of a runner: scheduled starts and full limits are looked at again this often. */
const POLL_MS = 1_000;
/** The lane is full ahead: look again after this long. */
const FULL_MS = 50;
/** A store failure: try the chunk again after this long. */
const RETRY_MS = 1_000;
/** Fewest messages kept ahead in the lane, whatever the rate. */
const MIN_AHEAD = 32;
/** Admitted messages whose ends are read back per store call (reconcile). */
const RECONCILE_PAGE = 500;

interface Entry {
  row: StoredRecipient;
  /** Admitted: the message and what admission charged. Undefined: a policy refused it. */
  message?: NewMessage;
  admission?: Admission;
}

export class BroadcastRunner {
  private timer: NodeJS.Timeout | null = null;
  private stepping = false;
  private again = false;
  private stopped = false;
  /** halt(): no step starts until resume(). */
  private halted = false;
  private current: Promise<void> | null = null;
  private lastReconcileMs = Number.NEGATIVE_INFINITY;
  private lastRefreshMs = Number.NEGATIVE_INFINITY;
  private readonly message: Record<string, unknown>;
  private readonly template: Record<string, unknown> | undefined;

  constructor(
    readonly record: BroadcastRecord,
    private readonly deps: BroadcastDeps,
    private readonly service: BroadcastService,
  ) {
    this.message = JSON.parse(record.message) as Record<string, unknown>;
    this.template = this.message.type === 'template' ? (this.message.template as Record<string, unknown>) : undefined;
  }

  /** Runs a step after `delayMs` (0: soon); a step under way runs again when it ends. */
  wake(delayMs = 0): void {
    if (this.stopped || this.halted) return;
    if (this.stepping) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.current = this.step();
    }, delayMs);
    this.timer.unref();
  }

  /** Lets the step under way finish and starts no other (cancel changes the record meanwhile). */
  async halt(): Promise<void> {
    this.halted = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.current;
  }

  resume(): void {
    this.halted = false;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Reads back the states of admitted messages whose end this process did not record (a crash
   * between a message's end and the count's commit): bounded by what the runner keeps queued.
   */
  async reconcile(): Promise<void> {
    this.lastReconcileMs = this.deps.clock.nowMs();
    const r = this.record;
    for (let after = -1; ;) {
      const page = await this.deps.broadcasts.queuedOf(r.tenantId, r.id, after, RECONCILE_PAGE);
      if (page.length === 0) return;
      after = page[page.length - 1]!.idx;
      const ends: MessageEnd[] = [];
      await Promise.all(page.map(async (q) => {
        const rec = await this.deps.store.get(r.tenantId, q.messageId);
        const status = rec === null ? undefined : STATUS_OF_FINAL[rec.state];
        if (status !== undefined) ends.push({ tenantId: r.tenantId, messageId: q.messageId, status });
      }));
      if (ends.length > 0) await this.deps.broadcasts.endMessages(ends, (id) => (id === r.id ? r.counts : undefined));
    }
  }

  /**
   * Reads the broadcast back (a fleet: another process may have cancelled it, or recorded ends):
   * a stored end is taken over, the runner then drains it.
   */
  async refresh(): Promise<void> {
    this.lastRefreshMs = this.deps.clock.nowMs();
    const r = this.record;
    const stored = await this.deps.broadcasts.get(r.tenantId, r.id);
    if (stored === null) return;
    r.counts = stored.counts;
    if (stored.state === r.state || (stored.state !== 'cancelled' && stored.state !== 'completed')) return;
    r.state = stored.state;
    r.endedAtMs = stored.endedAtMs;
    r.waitingForLimit = false;
    if (r.state === 'cancelled') this.service.noteCancelledHere(r.id);
  }

  private async step(): Promise<void> {
    this.timer = null;
    this.stepping = true;
    let delayMs: number | null;
    try {
      delayMs = await this.advance();
    } catch (err) {
      this.deps.log.error({ err, broadcast: this.record.id }, 'broadcast step failed; trying again');
      delayMs = RETRY_MS;
    } finally {
      this.stepping = false;
    }
    this.current = null;
    if (this.stopped || this.halted) return;
    if (this.again) {
      this.again = false;
      delayMs = 0;
    }
    if (delayMs !== null) this.wake(delayMs);
  }

  /** One step; the ms until the next one (null: only an event wakes it). */
  private async advance(): Promise<number | null> {
    const r = this.record;
    const nowMs = this.deps.clock.nowMs();
    if (this.deps.owns !== undefined) {
      // The lease went (a retire may still be on its way): the next owner resumes from the cursor.
      if (!this.deps.owns(r.phoneNumberId)) {
        this.service.leave(r);
        return null;
      }
      if (nowMs - this.lastRefreshMs >= POLL_MS) await this.refresh();
    }
    if (r.state === 'cancelled' || r.state === 'completed') return this.drain(nowMs);
    if (r.state === 'scheduled') {
      if (nowMs < r.notBeforeMs) return Math.min(POLL_MS, r.notBeforeMs - nowMs);
      await this.deps.broadcasts.startRun(r.tenantId, r.id);
      r.state = 'running';
    }
    if (r.cursor < r.total && nowMs >= r.deadlineAtMs) {
      await this.deps.broadcasts.expirePending(r.tenantId, r.id, r.total, r.counts);
      r.cursor = r.total;
      r.waitingForLimit = false;
    }
    if (r.cursor >= r.total) return this.settle(nowMs);
    const ahead = this.ahead();
    const room = ahead - this.deps.dispatcher.queued(r.phoneNumberId);
    // Refilled a quarter at a time: fewer, larger chunks (each is one commit here and one batch in the store).
    if (room < Math.max(1, ahead >> 2)) return FULL_MS;
    const rows = await this.deps.broadcasts.page(r.tenantId, r.id, r.cursor, Math.min(room, this.deps.settings.chunk));
    if (rows.length === 0) {
      // Nothing stored past the cursor (cannot happen unless rows were removed by hand): nothing left to admit.
      this.deps.log.error({ broadcast: r.id, cursor: r.cursor, total: r.total }, 'broadcast has no recipients past its cursor; ending its admission');
      r.cursor = r.total;
      return 0;
    }
    return this.admitChunk(rows, nowMs);
  }

  /** Everything admitted: the broadcast ends once every message did. */
  private async settle(nowMs: number): Promise<number | null> {
    const r = this.record;
    if (await this.unsettled(nowMs)) return POLL_MS;
    await this.service.finish(r, 'completed', null);
    return r.state === 'cancelled' ? 0 : null;
  }

  /** Ended (cancelled) with messages still in flight: announced once they ended too. */
  private async drain(nowMs: number): Promise<number | null> {
    if (await this.unsettled(nowMs)) return POLL_MS;
    this.service.announce(this.record);
    return null;
  }

  /** Admitted messages have not all ended (their ends are read back from the store now and then). */
  private async unsettled(nowMs: number): Promise<boolean> {
    const r = this.record;
    await this.service.flushEnds();
    if (r.counts.queued > 0 && nowMs - this.lastReconcileMs >= POLL_MS * 5) await this.reconcile();
    return r.counts.queued > 0;
  }

  private ahead(): number {
    const info = this.deps.numbers.get(this.record.phoneNumberId);
    return Math.max(MIN_AHEAD, Math.ceil((info?.mps ?? 0) * this.deps.settings.aheadSec));
  }

  private async admitChunk(rows: StoredRecipient[], nowMs: number): Promise<number | null> {
    const r = this.record;
    const { entries, limitWaitMs, storeDown } = await this.admitRows(rows, nowMs);
    const outcomes = await Promise.allSettled(entries.map((e) => (e.message === undefined ? Promise.resolve(null) : this.deps.store.enqueue(e.message))));
    const queued: Array<{ idx: number; messageId: string }> = [];
    const rejected: number[] = [];
    const created: MessageRecord[] = [];
    /** The entry of each created message (its charge), by message id. */
    const createdBy = new Map<string, Entry>();
    const alreadyEnded: MessageEnd[] = [];
    let cursor = r.cursor;
    let failed = false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const o = outcomes[i]!;
      if (failed || o.status === 'rejected') {
        // Storage failed: the cursor stops before the first failure and the rest is tried again.
        // A message stored all the same keeps its charge and goes to the lane (the retry finds it
        // a duplicate); the others give theirs back.
        failed = true;
        if (o.status === 'fulfilled' && o.value?.kind === 'created') {
          created.push(o.value.record);
          createdBy.set(o.value.record.id, e);
        } else e.admission?.release();
        continue;
      }
      const outcome = o.value;
      if (outcome === null) {
        rejected.push(e.row.idx);
      } else if (outcome.kind === 'conflict') {
        e.admission?.release();
        rejected.push(e.row.idx);
      } else {
        if (outcome.kind === 'created') {
          created.push(outcome.record);
          createdBy.set(outcome.record.id, e);
        } else e.admission?.release(); // admitted before a crash: its first admission holds the charge
        queued.push({ idx: e.row.idx, messageId: outcome.record.id });
        const ended = STATUS_OF_FINAL[outcome.record.state];
        if (outcome.kind === 'duplicate' && ended !== undefined) alreadyEnded.push({ tenantId: r.tenantId, messageId: outcome.record.id, status: ended });
      }
      cursor = e.row.idx + 1;
    }
    const waiting = !failed && limitWaitMs > 0;
    if (!(await this.deps.broadcasts.commitChunk({ tenantId: r.tenantId, broadcastId: r.id, cursor, queued, rejected }, r.counts, waiting))) {
      // Cancelled meanwhile (by another process), or expired: this chunk's new messages never leave.
      // Those rejected here give their charges back through their end (message-ended.ts); one
      // already `sending` keeps it, one refused at its departure gave it back there.
      await this.service.cancels.rejectMessages(r, created.map((rec) => ({ idx: -1, messageId: rec.id, to: rec.to })), nowMs);
      await this.refresh();
      return 0;
    }
    r.cursor = Math.max(r.cursor, cursor);
    r.waitingForLimit = waiting;
    if (waiting) r.slotFreeAtMs = nowMs + limitWaitMs;
    if (alreadyEnded.length > 0) await this.deps.broadcasts.endMessages(alreadyEnded, (id) => (id === r.id ? r.counts : undefined));
    for (const rec of created) this.deps.dispatcher.submit(rec);
    if (failed || storeDown) return RETRY_MS;
    if (waiting) return Math.min(limitWaitMs, POLL_MS);
    return 0;
  }

  /**
   * Each row through admission, in order, up to the first the messaging limit refuses (the rest
   * wait for slots): one process's engine synchronously; a fleet's all at once (each a round trip
   * to the shared state), what follows a stop given back. A refusal by another policy is the
   * recipient's end (rejected); the shared state unreadable stops the chunk there (retried).
   */
  private async admitRows(rows: StoredRecipient[], nowMs: number): Promise<{ entries: Entry[]; limitWaitMs: number; storeDown: boolean }> {
    const r = this.record;
    const inputs = rows.map((row): { row: StoredRecipient; message: NewMessage; input: AdmitInput } => {
      const body = this.bodyOf(row);
      return { row, message: this.messageOf(row, body, nowMs), input: { tenantId: r.tenantId, phoneNumberId: r.phoneNumberId, to: row.to, body, category: r.category, nowMs } };
    });
    const policy = this.deps.policy;
    const shared = isSharedPolicy(policy) ? policy : null;
    const tried: Array<PromiseSettledResult<Admission>> = shared === null ? [] : await Promise.allSettled(inputs.map((x) => shared.admitAsync(x.input)));
    const entries: Entry[] = [];
    let limitWaitMs = 0;
    let storeDown = false;
    let stop = -1;
    let failure: unknown;
    for (let i = 0; i < inputs.length; i++) {
      const { row, message, input } = inputs[i]!;
      let outcome: PromiseSettledResult<Admission>;
      if (shared !== null) outcome = tried[i]!;
      else {
        try {
          outcome = { status: 'fulfilled', value: policy.admit(input) };
        } catch (reason) {
          outcome = { status: 'rejected', reason };
        }
      }
      if (outcome.status === 'fulfilled') {
        entries.push({ row, message, admission: outcome.value });
        continue;
      }
      const err = outcome.reason as unknown;
      if (!(err instanceof GatewayError)) {
        failure = err;
        stop = i;
        break;
      }
      if (err.code === 'MESSAGING_LIMIT_REACHED') {
        limitWaitMs = Math.max(1, (err.retryAfterSec ?? 1) * 1000);
        stop = i;
        break;
      }
      if (err.code === 'STORAGE_UNAVAILABLE') {
        storeDown = true;
        stop = i;
        break;
      }
      entries.push({ row });
    }
    if (stop >= 0) for (let i = stop + 1; i < tried.length; i++) if (tried[i]!.status === 'fulfilled') (tried[i] as PromiseFulfilledResult<Admission>).value.release();
    if (failure !== undefined) {
      for (const e of entries) e.admission?.release();
      throw failure;
    }
    return { entries, limitWaitMs, storeDown };
  }

  /** The Cloud API body of one recipient's message: the broadcast's, with its own `components` if it has them. */
  private bodyOf(row: StoredRecipient): Record<string, unknown> {
    const body: Record<string, unknown> = { ...this.message, to: `+${row.to}` };
    if (row.components !== null && this.template !== undefined) body.template = { ...this.template, components: JSON.parse(row.components) as unknown };
    return body;
  }

  private messageOf(row: StoredRecipient, body: Record<string, unknown>, nowMs: number): NewMessage {
    const r = this.record;
    return {
      id: newMessageId(nowMs),
      tenantId: r.tenantId,
      phoneNumberId: r.phoneNumberId,
      to: row.to,
      toInput: row.toInput,
      body: JSON.stringify(body),
      priority: priorityOf(r.category),
      createdAtMs: nowMs,
      deadlineAtMs: r.deadlineAtMs,
      // A space: no client's key (visible ASCII only) can take it.
      idempotencyKey: broadcastMessageKey(r.id, row.idx),
      bodyHash: null,
    };
  }
}
