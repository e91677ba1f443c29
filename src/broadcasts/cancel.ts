/**
 * What follows a broadcast's cancel (service.ts `cancel`), from any process of a fleet: its
 * messages still `queued` are rejected, those `sending` waited for, and every message of it is
 * refused at its departure from then on, by whichever process dispatches it. The departure check
 * is the guarantee: it catches what the rejection missed (a chunk admitted but not yet committed,
 * a message back in `queued` after a retryable answer).
 *
 * In memory: the ids of cancelled broadcasts draining here, and at most CANCELLED_KNOWN read as
 * cancelled from the store.
 */
import { isTemplateText } from '../cloud-api/index.js';
import { ERRORS } from '../errors.js';
import type { RecordedError } from '../store/types.js';
import type { BroadcastDeps } from './service.js';
import { broadcastOfKey } from './ids.js';
import type { MessageEnd, QueuedRecipient } from './store.js';
import type { BroadcastRecord, RecipientStatusName } from './types.js';

/** Cancelled broadcasts a fleet's departure check remembers (a cancel is final; older ones are read again). */
const CANCELLED_KNOWN = 1_000;
/** A cancel answers once the broadcast's messages in flight have ended, or after this long at most. */
const CANCEL_SETTLE_MS = 10_000;
/** Queued messages read per store call. */
const QUEUED_PAGE = 1_000;

/** What a message of a cancelled broadcast records (the catalogue's BROADCAST_CANCELLED). */
export const CANCELLED_ERROR: RecordedError = {
  code: ERRORS.BROADCAST_CANCELLED.graphCode, title: ERRORS.BROADCAST_CANCELLED.title,
  details: 'The broadcast was cancelled before this message was sent', httpStatus: ERRORS.BROADCAST_CANCELLED.status,
};

/** What the cancels need of the service. */
export interface CancelHooks {
  /** The counts to keep in step when a runner here holds this very record, else undefined. */
  countsHeld(record: BroadcastRecord): Record<RecipientStatusName, number> | undefined;
  /** The one `broadcast.ended` webhook. */
  announce(record: BroadcastRecord): void;
}

export class BroadcastCancels {
  /** Cancelled broadcasts draining here (their departures are refused). */
  private readonly draining = new Set<string>();
  /** A fleet's departure check: broadcasts read as cancelled (insertion order: the oldest goes first). */
  private readonly known = new Set<string>();

  constructor(
    private readonly deps: Pick<BroadcastDeps, 'store' | 'broadcasts' | 'endings' | 'clock'>,
    private readonly hooks: CancelHooks,
  ) {}

  /** A cancelled broadcast drains here: its departures are refused until it is forgotten. */
  drainingHere(id: string): void {
    this.draining.add(id);
  }

  /** It was announced, or left this process (whoever dispatches its number reads its state). */
  forget(id: string): void {
    this.draining.delete(id);
  }

  /**
   * A cancelled broadcast's queued messages are rejected and those in flight waited for. Not run
   * here: announced now when nothing of it is queued any more (no runner may track it: its owner
   * dead or not yet aware of it); one whose owner's runner drains it too is told once (one event id).
   */
  async settle(record: BroadcastRecord, here: boolean): Promise<void> {
    this.noteCancelled(record.id);
    await this.rejectQueued(record, this.deps.clock.nowMs());
    await this.inFlightEnded(record);
    if (here) return;
    const stored = await this.deps.broadcasts.get(record.tenantId, record.id);
    if (stored !== null && stored.state === 'cancelled' && stored.counts.queued === 0) this.hooks.announce(stored);
  }

  /**
   * A broadcast's message about to leave, of any type (the dispatcher's departure check): refused
   * when its broadcast was cancelled. Broadcast messages carry the idempotency key
   * `broadcast <id> <idx>`.
   */
  departureRefusal(rec: { idempotencyKey: string | null }): RecordedError | null {
    const id = broadcastOfKey(rec.idempotencyKey);
    return id !== null && (this.draining.has(id) || this.known.has(id)) ? CANCELLED_ERROR : null;
  }

  /** A fleet's departure check, exact: the broadcast's state as stored now (a cancel by any process). */
  async departureRefusalAsync(rec: { tenantId: string; idempotencyKey: string | null }): Promise<RecordedError | null> {
    const id = broadcastOfKey(rec.idempotencyKey);
    if (id === null) return null;
    if (this.departureRefusal(rec) !== null) return CANCELLED_ERROR;
    if ((await this.deps.broadcasts.stateOf(rec.tenantId, id)) !== 'cancelled') return null;
    this.noteCancelled(id);
    return CANCELLED_ERROR;
  }

  /**
   * Rejects those of the messages still `queued` in the store (one `sending` may be on its way: left
   * alone), with their webhook; the ends of those it rejected (and only those).
   */
  async rejectMessages(record: BroadcastRecord, messages: readonly QueuedRecipient[], nowMs: number): Promise<MessageEnd[]> {
    const ended: MessageEnd[] = [];
    const template = isTemplateText(record.message);
    await Promise.all(messages.map(async (q) => {
      // Only while still `queued`, checked in the store's own commit (the dispatcher may commit `sending` meanwhile).
      const done = await this.deps.store.transition(q.messageId, { state: 'rejected', atMs: nowMs, lastError: CANCELLED_ERROR, unsent: true });
      if (!done) return;
      ended.push({ tenantId: record.tenantId, messageId: q.messageId, status: 'cancelled' });
      // What follows an unsent end is decided in one place (gateway/message-ended.ts): its charges
      // given back, the tenant's event in the tenant's format.
      this.deps.endings.ended({
        type: 'final', id: q.messageId, tenantId: record.tenantId, phoneNumberId: record.phoneNumberId,
        state: 'rejected', to: q.to, template, latencyMs: 0,
      });
    }));
    return ended;
  }

  private noteCancelled(id: string): void {
    if (this.known.size >= CANCELLED_KNOWN) this.known.delete(this.known.values().next().value!);
    this.known.add(id);
  }

  /** Messages of a cancelled broadcast still `queued` in the store end rejected (counted cancelled). */
  private async rejectQueued(record: BroadcastRecord, nowMs: number): Promise<void> {
    for (let after = -1; ;) {
      const queued = await this.deps.broadcasts.queuedOf(record.tenantId, record.id, after, QUEUED_PAGE);
      if (queued.length === 0) return;
      after = queued[queued.length - 1]!.idx;
      const ended = await this.rejectMessages(record, queued, nowMs);
      await this.deps.broadcasts.endMessages(ended, (bid) => (bid === record.id ? this.hooks.countsHeld(record) : undefined));
    }
  }

  /**
   * Waits (CANCEL_SETTLE_MS at most, wall time: it bounds a real wait) until no admitted message of
   * the broadcast is `sending`.
   */
  private async inFlightEnded(record: BroadcastRecord): Promise<void> {
    const untilMs = Date.now() + CANCEL_SETTLE_MS;
    for (let after = -1; Date.now() < untilMs;) {
      const page = await this.deps.broadcasts.queuedOf(record.tenantId, record.id, after, QUEUED_PAGE);
      if (page.length === 0) return;
      const states = await Promise.all(page.map(async (q) => (await this.deps.store.get(record.tenantId, q.messageId))?.state));
      const sending = states.indexOf('sending');
      if (sending < 0) {
        after = page[page.length - 1]!.idx;
        continue;
      }
      after = page[sending]!.idx - 1;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}
