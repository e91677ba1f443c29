/**
 * What the gateway does with Meta's events (the `onEvents` of metaWebhookRoutes):
 *   - status → the message record (by wamid) moves along sent → delivered → read / failed, and the
 *     owning tenant gets a `message.status` webhook;
 *   - inbound → the policy hook hears of it (opens the 24 h window; opt-out words), and the tenant
 *     owning the number gets a `message.inbound` webhook;
 *   - quality / capability → the signal hook (limits, throughput level).
 * Resolves once every tenant webhook is durable in the outbox, so Meta's 200 means "will be
 * delivered". Tenant event ids derive from the Meta event (tenantEventId), so duplicates that get
 * past deduplication stay recognisable downstream. Tenant webhook bodies (all carry `type`, `phoneNumberId` and `timestamp` in ms):
 *   {type:'message.status', id, wamid, status, recipient, phoneNumberId, timestamp, errors?, bizOpaque?}
 *   {type:'message.inbound', messageId, from, phoneNumberId, timestamp, messageType, text?, optOut, message}
 * A tenant whose webhook takes Meta's format gets Meta's envelope instead, one item each, with the
 * ids it knows (../tenant/meta-format.ts), plus every other change naming its numbers or account
 * (pass-through events), which sendgate's own format has no event for.
 *
 * A status can overtake the dispatcher's own record of the send (Meta's webhook may arrive before
 * the `sent` commit carrying the wamid). Such statuses are parked durably (unmatched-statuses.ts,
 * in webhooks.db or Redis, before Meta gets its 200), bounded, and looked up again after each delay of
 * `unmatchedRetryMs`, also after a restart; still unknown after the last retry or older than
 * `maxParkedAgeMs` (e.g. sent around the gateway), they are dropped and counted.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { MessageRecord, MessageRecords, RecordedError } from '../../store/types.js';
import { detectOptOut, DEFAULT_OPT_OUT_SET } from '../opt-out.js';
import type { OutboxFormat } from '../outbox/types.js';
import { idsOf, inboundEnvelope, passThroughEnvelope, repliedWamid, statusEnvelope, type MessageIds } from '../tenant/meta-format.js';
import type { InboundEvent, MetaEvent, PassThroughEvent, SignalEvent, StatusEvent } from './events.js';
import { MemoryUnmatchedStatuses, type ParkedStatus, type UnmatchedStatuses } from './unmatched-statuses.js';

/** Where tenant webhooks go (TenantWebhookSender satisfies it). */
export interface TenantEventSink {
  enqueue(tenantId: string, event: object, options?: { orderKey?: string; eventId?: string; format?: OutboxFormat }): Promise<string | null>;
  /** The format the tenant's webhook takes (absent: always sendgate's). */
  formatOf?(tenantId: string): OutboxFormat | undefined;
}

/** Which tenant owns a business number (TenantRegistry satisfies it). */
export interface NumberOwners {
  number(phoneNumberId: string): { tenant: { id: string } } | undefined;
  /** The tenant an account-level change names (number, display number, else WABA); absent: by number only. */
  accountTenant?(signal: { phoneNumberId: string | null; displayPhoneNumber?: string | null; wabaId: string }): { id: string } | undefined;
}

/**
 * Which sends were answered with Meta's wamid (`Prefer: wait` answered by the upstream): their
 * statuses keep the wamid as `id` in Meta's format. Absent: every send answered its gateway id.
 */
export interface WamidAnswers {
  answeredWamid(tenantId: string, gatewayId: string): Promise<boolean>;
}

export interface InboundNotice {
  tenantId: string;
  phoneNumberId: string;
  /** The user: wa_id, or BSUID when Meta sends no number. */
  from: string;
  atMs: number;
  /** The whole message is an opt-out word. */
  optOut: boolean;
  event: InboundEvent;
}

export interface ConsumerHooks {
  /** Policy: open/refresh the (number, user) service window, record opt-outs. */
  onInbound?(notice: InboundNotice): void | Promise<void>;
  /** Account signals: capability, quality, account restrictions, users' marketing preferences. */
  onSignal?(event: SignalEvent): void | Promise<void>;
  /** A status matched to its message (policy: asynchronous failures defer or mark the recipient). */
  onStatus?(record: MessageRecord, event: StatusEvent): void;
}

export interface MetaConsumerOptions {
  records: Pick<MessageRecords, 'findByWamid' | 'transition'>;
  owners: NumberOwners;
  sink: TenantEventSink;
  clock: Clock;
  hooks?: ConsumerHooks;
  /** Sends answered with the wamid (Meta format's `statuses[].id`). */
  wamidAnswers?: WamidAnswers;
  /** Opt-out words per tenant (normalised with compileOptOutWords); default: every language's defaults. */
  optOutWords?: (tenantId: string) => ReadonlySet<string>;
  /** Delays of the look-ups of a status whose wamid is not known yet. */
  unmatchedRetryMs?: readonly number[];
  /** Statuses parked at most; beyond it the oldest is dropped. */
  maxParked?: number;
  /** Where statuses wait for their wamid: give the durable one (SqliteUnmatchedStatuses); default in memory. */
  unmatched?: UnmatchedStatuses;
  /** A parked status older than this is dropped at its next look-up, whatever its tries (default 6 h). */
  maxParkedAgeMs?: number;
  onError?: (err: unknown, what: string) => void;
}

export interface MetaConsumerStats {
  statuses: number;
  inbound: number;
  optOuts: number;
  signals: number;
  /** Statuses matched only on a later look-up. */
  lateMatched: number;
  /** Statuses dropped: wamid never found. */
  unmatched: number;
  /** Inbound messages to a number no tenant owns. */
  unknownNumber: number;
  /** Other changes relayed to tenants taking Meta's format. */
  passedThrough: number;
  parked: number;
}

/** Parked statuses looked up per sweep; the rest wait for the next one. */
const SWEEP_BATCH = 200;
/** How often a consumer sharing its parked statuses with a fleet looks for ones due anyway. */
const SHARED_RECHECK_MS = 5_000;

export class MetaEventConsumer {
  private readonly counts = { statuses: 0, inbound: 0, optOuts: 0, signals: 0, passedThrough: 0, lateMatched: 0, unmatched: 0, unknownNumber: 0 };
  private readonly unmatched: UnmatchedStatuses;
  private readonly retryMs: readonly number[];
  private readonly maxAgeMs: number;
  private timer: NodeJS.Timeout | undefined;
  private timerAtMs = Infinity;
  private sweeping = false;
  private closed = false;

  constructor(private readonly options: MetaConsumerOptions) {
    this.retryMs = options.unmatchedRetryMs ?? [500, 2000, 10_000, 60_000, 300_000];
    this.maxAgeMs = options.maxParkedAgeMs ?? 6 * 3_600_000;
    this.unmatched = options.unmatched ?? new MemoryUnmatchedStatuses(options.maxParked ?? 10_000);
    // Statuses parked before a restart are looked up at once, and get their retry schedule again:
    // their wamid may be recorded only now, by a send recovered from the store.
    void this.unmatched.rewind(options.clock.nowMs())
      .catch((err: unknown) => this.report(err, 'parked status rewind'))
      .then(() => this.wake());
  }

  /** The `onEvents` for metaWebhookRoutes. */
  readonly onEvents = async (events: MetaEvent[]): Promise<void> => {
    const durable: Array<Promise<unknown>> = [];
    const unknown: StatusEvent[] = [];
    try {
      // Look-ups in batch order, so that enqueues for one recipient keep Meta's order.
      for (const event of events) {
        if (event.kind === 'status') {
          const record = await this.options.records.findByWamid(event.wamid);
          if (record) {
            // Statuses of this message that overtook its record go first: the tenant sees them in Meta's order.
            // Ids resolved here, before any enqueue starts, so that appends keep the batch's order
            // (sendgate's own format needs none: no extra turn for it).
            const ids = this.formatOf(record.tenantId) === 'meta' ? await this.idsFor(record) : null;
            for (const parked of await this.unmatched.ofWamid(event.wamid)) durable.push(this.applyParked(record, parked, ids));
            durable.push(this.applyStatus(record, event, ids));
          } else unknown.push(event);
        } else if (event.kind === 'inbound') {
          const notice = this.inboundNotice(event);
          if (!notice) continue;
          await this.options.hooks?.onInbound?.(notice);
          durable.push(this.forwardInbound(notice, this.formatOf(notice.tenantId) === 'meta' ? await this.replyIds(notice) : undefined));
        } else if (event.kind === 'passthrough') {
          durable.push(this.passThrough(event));
        } else {
          this.counts.signals++;
          await this.options.hooks?.onSignal?.(event);
        }
      }
      // Durable before Meta's 200: a failure here answers 500 and Meta delivers them again.
      if (unknown.length > 0) await this.park(unknown);
    } finally {
      // Every write started is awaited, also when a later step threw: none is left unhandled.
      const settled = await Promise.allSettled(durable);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
  };

  stats(): MetaConsumerStats {
    return { ...this.counts, parked: this.unmatched.size() };
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** `ids`: the ids the tenant knows the message by, when it takes Meta's format (idsFor). */
  private applyStatus(record: MessageRecord, event: StatusEvent, ids: MessageIds | null): Promise<unknown> {
    this.counts.statuses++;
    const atMs = event.timestampMs || this.options.clock.nowMs();
    const transition =
      event.status === 'delivered' || event.status === 'read'
        ? this.options.records.transition(record.id, { state: event.status, atMs })
        : event.status === 'failed'
          ? this.options.records.transition(record.id, { state: 'failed', atMs, lastError: toRecordedError(event) })
              // Only a failure that applied reaches the hooks: a redelivered or late `failed` must not
              // give a tier slot back twice.
              .then((applied) => {
                if (applied) this.options.hooks?.onStatus?.(record, event);
                return applied;
              })
          : Promise.resolve(false); // `sent`: the dispatcher recorded it from the send's own answer.
    const eventId = tenantEventId(record.tenantId, `s:${event.wamid}:${event.status}`);
    if (ids !== null) {
      return Promise.all([transition, this.options.sink.enqueue(record.tenantId, statusEnvelope(event, ids), { orderKey: record.to, eventId, format: 'meta' })]);
    }
    const body: Record<string, unknown> = {
      type: 'message.status',
      id: record.id,
      wamid: event.wamid,
      status: event.status,
      recipient: record.to,
      phoneNumberId: event.phoneNumberId,
      timestamp: atMs,
    };
    if (event.errors) body.errors = event.errors;
    if (event.bizOpaque !== undefined) body.bizOpaque = event.bizOpaque;
    return Promise.all([transition, this.options.sink.enqueue(record.tenantId, body, { orderKey: record.to, eventId })]);
  }

  private formatOf(tenantId: string): OutboxFormat | undefined {
    return this.options.sink.formatOf?.(tenantId) ?? 'sendgate';
  }

  /** The ids the tenant knows the message by (meta-format.ts); null when its webhook takes sendgate's format. */
  private async idsFor(record: MessageRecord): Promise<MessageIds | null> {
    if (this.formatOf(record.tenantId) !== 'meta') return null;
    const answered = record.wamid !== null && (await this.options.wamidAnswers?.answeredWamid(record.tenantId, record.id)) === true;
    return idsOf(record, answered);
  }

  /** An account-level or unknown change: to the tenant it names, if that tenant takes Meta's format. */
  private async passThrough(event: PassThroughEvent): Promise<unknown> {
    const { owners } = this.options;
    const tenantId = owners.accountTenant !== undefined
      ? owners.accountTenant(event)?.id
      : event.phoneNumberId === null ? undefined : owners.number(event.phoneNumberId)?.tenant.id;
    if (tenantId === undefined || this.formatOf(tenantId) !== 'meta') return null;
    this.counts.passedThrough++;
    const key = createHash('sha256').update(event.wabaId).update('\n').update(event.field).update('\n').update(JSON.stringify(event.value)).digest('base64url');
    return this.options.sink.enqueue(tenantId, passThroughEnvelope(event), { orderKey: '', eventId: tenantEventId(tenantId, `c:${key}`), format: 'meta' });
  }

  private inboundNotice(event: InboundEvent): InboundNotice | undefined {
    const owner = this.options.owners.number(event.phoneNumberId);
    if (!owner) {
      this.counts.unknownNumber++;
      return undefined;
    }
    this.counts.inbound++;
    const tenantId = owner.tenant.id;
    const words = this.options.optOutWords?.(tenantId) ?? DEFAULT_OPT_OUT_SET;
    const optOut = event.text !== undefined && detectOptOut(event.text, words);
    if (optOut) this.counts.optOuts++;
    const atMs = event.timestampMs || this.options.clock.nowMs();
    return { tenantId, phoneNumberId: event.phoneNumberId, from: event.from, atMs, optOut, event };
  }

  /**
   * For a tenant taking Meta's format, the ids of the message an inbound reply answers (its
   * `context.id` is a wamid; the tenant knows the message by the id its send got); else undefined.
   */
  private async replyIds(notice: InboundNotice): Promise<{ replyTo: MessageIds | null } | undefined> {
    if (this.formatOf(notice.tenantId) !== 'meta') return undefined;
    const wamid = repliedWamid(notice.event);
    const replied = wamid === undefined ? null : await this.options.records.findByWamid(wamid);
    return { replyTo: replied !== null && replied.tenantId === notice.tenantId ? await this.idsFor(replied) : null };
  }

  private forwardInbound(notice: InboundNotice, meta: { replyTo: MessageIds | null } | undefined): Promise<unknown> {
    const { event } = notice;
    const eventId = tenantEventId(notice.tenantId, `m:${event.messageId}`);
    if (meta !== undefined) {
      return this.options.sink.enqueue(notice.tenantId, inboundEnvelope(event, meta.replyTo), { orderKey: event.from, eventId, format: 'meta' });
    }
    const body: Record<string, unknown> = {
      type: 'message.inbound',
      messageId: event.messageId,
      from: event.from,
      phoneNumberId: event.phoneNumberId,
      timestamp: notice.atMs,
      messageType: event.type,
      optOut: notice.optOut,
      message: event.raw,
    };
    if (event.text !== undefined) body.text = event.text;
    return this.options.sink.enqueue(notice.tenantId, body, { orderKey: event.from, eventId });
  }

  private async park(events: StatusEvent[]): Promise<void> {
    const nowMs = this.options.clock.nowMs();
    const delayMs = this.retryMs[0];
    if (this.closed || delayMs === undefined) {
      this.counts.unmatched += events.length;
      return;
    }
    this.counts.unmatched += await this.unmatched.park(events, nowMs, nowMs + delayMs);
    this.wake();
  }

  /** Arms the timer for the earliest parked look-up (never rejects). */
  private wake(): void {
    if (this.closed) return;
    void this.unmatched.nextTryAtMs().then(
      (atMs) => this.arm(atMs),
      (err: unknown) => {
        this.report(err, 'parked status read');
        this.arm(this.options.clock.nowMs() + 1000);
      },
    );
  }

  private arm(atMs: number | undefined): void {
    if (this.closed) return;
    // Other processes park too: what they leave behind when they stop is looked up from here.
    if (this.unmatched.shared === true) atMs = Math.min(atMs ?? Infinity, this.options.clock.nowMs() + SHARED_RECHECK_MS);
    if (atMs === undefined || (this.timer && this.timerAtMs <= atMs)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAtMs = atMs;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAtMs = Infinity;
      void this.sweep();
    }, Math.max(0, atMs - this.options.clock.nowMs()));
    this.timer.unref();
  }

  /** Looks up the parked statuses that are due: applies the matched, reschedules or drops the rest. */
  private async sweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      const nowMs = this.options.clock.nowMs();
      for (const parked of await this.unmatched.due(nowMs, SWEEP_BATCH)) await this.lookUp(parked, nowMs);
    } catch (err) {
      // A store or database failure: the rows stay parked and are looked up again.
      this.report(err, 'late status');
      if (!this.closed) {
        this.timerAtMs = this.options.clock.nowMs() + 1000;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.timerAtMs = Infinity;
          void this.sweep();
        }, 1000);
        this.timer.unref();
      }
    } finally {
      this.sweeping = false;
    }
    this.wake();
  }

  private async applyParked(record: MessageRecord, parked: ParkedStatus, ids: MessageIds | null): Promise<void> {
    await this.applyStatus(record, parked.event, ids);
    this.counts.lateMatched++;
    await this.unmatched.remove(parked.key);
  }

  private async lookUp(parked: ParkedStatus, nowMs: number): Promise<void> {
    const record = await this.options.records.findByWamid(parked.event.wamid);
    if (record) return this.applyParked(record, parked, await this.idsFor(record));
    const tries = parked.tries + 1;
    const delayMs = this.retryMs[tries];
    if (delayMs === undefined || nowMs - parked.receivedAtMs >= this.maxAgeMs) {
      await this.relayUnknown(parked.event);
      await this.unmatched.remove(parked.key);
      this.counts.unmatched++;
      return;
    }
    await this.unmatched.retryLater(parked.key, tries, nowMs + delayMs);
  }

  /**
   * A status sendgate never found a record for (a message sent around it, straight to Meta): a
   * tenant taking Meta's format still gets it, as Meta sent it, since its client knows that wamid.
   */
  private async relayUnknown(event: StatusEvent): Promise<void> {
    const tenantId = this.options.owners.number(event.phoneNumberId)?.tenant.id;
    if (tenantId === undefined || this.formatOf(tenantId) !== 'meta') return;
    const eventId = tenantEventId(tenantId, `s:${event.wamid}:${event.status}`);
    await this.options.sink.enqueue(tenantId, statusEnvelope(event, null), { orderKey: event.recipient, eventId, format: 'meta' });
  }

  private report(err: unknown, what: string): void {
    try {
      this.options.onError?.(err, what);
    } catch {
      // A failing logger must not stop the look-ups.
    }
  }
}

/**
 * The tenant event id of a Meta status or message: the same Meta event always gives the same id, so
 * a copy that got past the dedupe set (after a restart, days later) is a no-op in the outbox while
 * the first is pending, and a duplicate the receiver recognises by `X-Sendgate-Event-Id` after.
 */
export function tenantEventId(tenantId: string, metaKey: string): string {
  return 'evt_' + createHash('sha256').update(tenantId).update('\n').update(metaKey).digest('base64url').slice(0, 22);
}

/** What a client should do about an asynchronous failure, appended to Meta's details. */
const HINTS: ReadonlyMap<number, string> = new Map([
  [131047, 'More than 24 hours since the user last wrote: send an approved template instead'],
  [131026, 'The recipient cannot receive this message (not on WhatsApp, old app, or terms not accepted); sendgate holds further sends to them for a while'],
  [131049, 'Meta limited marketing to this user; sendgate defers marketing to them for at least 24 hours'],
]);

function toRecordedError(event: StatusEvent): RecordedError {
  const first = event.errors?.[0];
  const code = first?.code ?? 0;
  const hint = HINTS.get(code);
  const details = [first?.details ?? '', hint ?? ''].filter((part) => part !== '').join(' — ');
  return { code, title: first?.title ?? 'Failed', details, httpStatus: 0 };
}
