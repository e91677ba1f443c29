/**
 * Tenant webhooks out: `enqueue` makes an event durable in the outbox, then one lane per tenant
 * endpoint (lane.ts) delivers it as a signed JSON POST (signature.ts), retrying on the schedule
 * (schedule.ts) behind a circuit breaker (breaker.ts).
 *
 * Never in the way of sends: `enqueue` costs one group-committed insert; delivery runs on its own
 * timers and an undici Agent of its own, with bounded connections per endpoint and timeouts, so a
 * slow tenant endpoint holds sockets and memory of its own lane only.
 *
 * Delivery is at-least-once: an attempt in flight at a crash is made again after restart, with the
 * same `X-Sendgate-Event-Id`.
 *
 * In a fleet sharing one outbox (Redis), a `gate` gives each tenant to one process at a time
 * (delivery-gate.ts): the others append its events and leave them to the holder, which picks them
 * up from the outbox; per-recipient order and single delivery thus hold across processes.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import { systemClock, type Clock } from '../../clock.js';
import { escapeNonAscii, signMetaBody } from '../meta/signature.js';
import type { DeadEntry, Outbox, OutboxEntry, OutboxFormat } from '../outbox/types.js';
import type { BreakerState } from './breaker.js';
import type { DeliveryGate, GateListener } from './delivery-gate.js';
import { EndpointLane, type LaneCounters, type LaneSettings, type TenantEndpoint } from './lane.js';
import { DEFAULT_RETRY_SCHEDULE_MS } from './schedule.js';
import { EVENT_ID_HEADER, SIGNATURE_HEADER, signTenantBody } from './signature.js';

/**
 * Only a recipient's head event can be in flight, so a few queued behind it keep its deliveries
 * back to back; more would only let one recipient's backlog crowd out the others'.
 */
const DEFAULT_WINDOW_PER_RECIPIENT = 10;

export interface TenantWebhookSenderOptions {
  outbox: Outbox;
  /** The tenant's `webhook` from the live config; undefined when it has none. Read at every attempt. */
  endpoint: (tenantId: string) => TenantEndpoint | undefined;
  clock?: Clock;
  /** Delay before retry n; its length bounds the attempts. Tests pass a compressed one. */
  retryScheduleMs?: readonly number[];
  /** ±fraction of each delay randomised (default 0.2). */
  jitter?: number;
  /** Attempts in flight per endpoint (default 4). */
  concurrencyPerEndpoint?: number;
  /** Per attempt: connect, response headers and body each (default 10 s). */
  timeoutMs?: number;
  /** Consecutive failures that open the breaker (default 5), its first cool-down (default 30 s), its cap (default 10 min). */
  breaker?: { failureThreshold?: number; coolDownMs?: number; maxCoolDownMs?: number };
  /** Pending events held in memory per endpoint (default 1000), read in pages of `pageSize` (default 200). */
  windowPerEndpoint?: number;
  /** Of those, events of one recipient (order key) at most (default 10): one stuck recipient never fills the window. */
  windowPerRecipient?: number;
  pageSize?: number;
  /**
   * In a fleet sharing the outbox: which tenants this process delivers (redis-delivery-leases.ts).
   * Absent: every tenant of the outbox (one process alone on its storage).
   */
  gate?: DeliveryGate;
  /** Logs problems; never given secrets. */
  onError?: (err: unknown, what: string) => void;
}

export interface EndpointStats {
  tenantId: string;
  breaker: BreakerState;
  consecutiveFailures: number;
  inFlight: number;
  loaded: number;
}

export interface TenantWebhookStats {
  /** Counters since start. */
  enqueued: number;
  attempts: number;
  delivered: number;
  failedAttempts: number;
  /** Events whose retries ran out (kept in the outbox, marked dead). */
  dead: number;
  /** Events not stored because the tenant has no webhook configured. */
  dropped: number;
  /** Enqueues of an event id already stored (redelivered source events). */
  duplicates: number;
  breakerOpens: number;
  /** Gauges. */
  pending: number;
  inFlight: number;
  loaded: number;
  openBreakers: number;
  endpoints: EndpointStats[];
}

export interface EnqueueOptions {
  /** Events with the same key are delivered in order. Default: the event's `recipient`, `to`, `from` or `wa_id`, else ''. */
  orderKey?: string;
  /**
   * Id derived from the source event (`X-Sendgate-Event-Id`). Enqueueing an id already stored does
   * nothing, and a receiver that saw it already dedupes it. Default: random.
   */
  eventId?: string;
  /**
   * What `event` is: sendgate's event (default) or Meta's envelope (`meta`, serialised
   * ASCII-escaped and signed `X-Hub-Signature-256`, as Meta does). Pick it with `formatOf`.
   */
  format?: OutboxFormat;
}

interface LaneSlot {
  lane: EndpointLane;
  /** This lane's share of the counters (the sender's stats add them up). */
  counters: LaneCounters;
  /** Aborts this lane's attempts in flight (the tenant was lost to another process, or shutdown). */
  stop: AbortController;
}

const zeroCounters = (): LaneCounters => ({ attempts: 0, delivered: 0, failedAttempts: 0, dead: 0, pending: 0 });

export class TenantWebhookSender {
  private readonly lanes = new Map<string, LaneSlot>();
  /** Counters of lanes closed since start, plus (alone on the outbox) the events pending at start. */
  private readonly retired: LaneCounters = zeroCounters();
  private enqueued = 0;
  private dropped = 0;
  private duplicates = 0;
  private readonly clock: Clock;
  private readonly settings: LaneSettings;
  private readonly timeoutMs: number;
  private readonly agent: Dispatcher;
  private readonly onError: (err: unknown, what: string) => void;
  private closed = false;

  constructor(private readonly options: TenantWebhookSenderOptions) {
    this.clock = options.clock ?? systemClock;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const concurrency = options.concurrencyPerEndpoint ?? 4;
    const pageSize = options.pageSize ?? 200;
    this.settings = {
      concurrency,
      pageSize,
      window: Math.max(options.windowPerEndpoint ?? 1000, pageSize),
      perKey: Math.max(1, options.windowPerRecipient ?? DEFAULT_WINDOW_PER_RECIPIENT),
      retryScheduleMs: options.retryScheduleMs ?? DEFAULT_RETRY_SCHEDULE_MS,
      jitter: options.jitter ?? 0.2,
      breaker: {
        failureThreshold: options.breaker?.failureThreshold ?? 5,
        coolDownMs: options.breaker?.coolDownMs ?? 30_000,
        maxCoolDownMs: options.breaker?.maxCoolDownMs ?? 600_000,
      },
      unconfiguredRecheckMs: 60_000,
    };
    this.onError = options.onError ?? (() => {});
    this.agent = new Agent({
      connections: concurrency,
      connect: { timeout: this.timeoutMs },
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
      keepAliveTimeout: 10_000,
    });
  }

  /**
   * Recovery: picks up every pending event left in the outbox (with a gate: of the tenants it
   * gives this process, now and later). Call once, before `enqueue`.
   */
  async start(): Promise<void> {
    const { gate } = this.options;
    if (gate !== undefined) {
      await gate.start(this.gateListener);
      return;
    }
    const { tenants, pending } = await this.options.outbox.summary();
    this.retired.pending += pending;
    for (const tenantId of tenants) this.slot(tenantId).lane.pump();
  }

  private readonly gateListener: GateListener = {
    gained: (tenantId, pending) => {
      if (this.closed) return;
      const slot = this.slot(tenantId);
      slot.counters.pending += pending;
      slot.lane.pump();
    },
    lost: (tenantId) => {
      const slot = this.lanes.get(tenantId);
      if (slot === undefined) return;
      this.lanes.delete(tenantId);
      this.retire(slot);
      slot.stop.abort();
      void slot.lane.close();
    },
    appended: (tenantId) => this.lanes.get(tenantId)?.lane.nudge(),
  };

  /** With a gate, a tenant this process does not deliver only gets its events appended. */
  private offer(tenantId: string, entry: OutboxEntry): void {
    const slot = this.options.gate === undefined ? this.slot(tenantId) : this.lanes.get(tenantId);
    if (slot === undefined) {
      this.options.gate!.want(tenantId);
      return;
    }
    slot.counters.pending++;
    slot.lane.offer(entry);
  }

  /**
   * Stores the event durably and schedules its delivery. Resolves after commit with the event id
   * (also when that id was already stored), or null when the tenant has no webhook (nothing stored).
   */
  async enqueue(tenantId: string, event: object, options: EnqueueOptions = {}): Promise<string | null> {
    if (this.closed) throw new Error('webhook sender closed');
    if (this.options.endpoint(tenantId) === undefined) {
      this.dropped++;
      return null;
    }
    const eventId = options.eventId ?? `evt_${randomBytes(16).toString('base64url')}`;
    const meta = options.format === 'meta';
    const entry = await this.options.outbox.append({
      eventId,
      tenantId,
      orderKey: options.orderKey ?? defaultOrderKey(event),
      // Meta's wire form: non-ASCII as \uXXXX, so receivers that re-escape before hashing verify too.
      body: meta ? escapeNonAscii(JSON.stringify(event)) : JSON.stringify(event),
      ...(meta ? { format: 'meta' as const } : {}),
      createdAtMs: this.clock.nowMs(),
    });
    if (entry === null) {
      this.duplicates++;
      return eventId;
    }
    this.enqueued++;
    this.offer(tenantId, entry);
    return eventId;
  }

  /** The format the tenant's webhook takes now, or undefined when it has none (events would be dropped). */
  formatOf(tenantId: string): OutboxFormat | undefined {
    const endpoint = this.options.endpoint(tenantId);
    return endpoint === undefined ? undefined : endpoint.format ?? 'sendgate';
  }

  /** Delivers a tenant's dead events again (after the tenant fixed its endpoint); returns how many. */
  async replayDead(tenantId: string): Promise<number> {
    if (this.closed) throw new Error('webhook sender closed');
    const entries = await this.options.outbox.requeueDead(tenantId, this.clock.nowMs());
    for (const entry of entries) this.offer(tenantId, entry);
    return entries.length;
  }

  /** A tenant's dead events (seq > afterSeq), for operators to look at before a replay. */
  deadLetters(tenantId: string, afterSeq: number, limit: number): Promise<DeadEntry[]> {
    return this.options.outbox.dead(tenantId, afterSeq, limit);
  }

  stats(): TenantWebhookStats {
    const endpoints: EndpointStats[] = [];
    let inFlight = 0;
    let loaded = 0;
    let openBreakers = 0;
    let breakerOpens = 0;
    const sums = { ...this.retired };
    for (const [tenantId, { lane, counters }] of this.lanes) {
      for (const name of COUNTER_NAMES) sums[name] += counters[name];
      const breaker = lane.breakerState();
      endpoints.push({ tenantId, breaker, consecutiveFailures: lane.breaker.failures, inFlight: lane.inFlight, loaded: lane.loaded });
      inFlight += lane.inFlight;
      loaded += lane.loaded;
      if (breaker !== 'closed') openBreakers++;
      breakerOpens += lane.breaker.opens;
    }
    return { ...sums, enqueued: this.enqueued, dropped: this.dropped, duplicates: this.duplicates, breakerOpens, inFlight, loaded, openBreakers, endpoints };
  }

  /**
   * Stops delivering, aborts attempts in flight (they stay pending), closes sockets, then gives
   * up the gate's tenants (another process takes them over). The outbox is the caller's to close.
   */
  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.lanes.values()];
    const closing = Promise.all(slots.map(({ lane }) => lane.close()));
    for (const { stop } of slots) stop.abort();
    await closing;
    await this.options.gate?.close();
    await this.agent.close();
  }

  private slot(tenantId: string): LaneSlot {
    let slot = this.lanes.get(tenantId);
    if (!slot) {
      const counters = zeroCounters();
      const stop = new AbortController();
      const lane = new EndpointLane({
        tenantId,
        outbox: this.options.outbox,
        clock: this.clock,
        settings: this.settings,
        endpoint: () => this.options.endpoint(tenantId),
        deliver: (endpoint, entry) => this.attempt(tenantId, endpoint, entry, stop.signal),
        counters,
        onError: this.onError,
      });
      slot = { lane, counters, stop };
      this.lanes.set(tenantId, slot);
    }
    return slot;
  }

  /** A lost tenant's counters stay in the totals; its pending events are another process's now. */
  private retire(slot: LaneSlot): void {
    for (const name of COUNTER_NAMES) if (name !== 'pending') this.retired[name] += slot.counters[name];
  }

  /** One attempt, unless the gate no longer gives this process the tenant (then the lane is closing and records nothing). */
  private attempt(tenantId: string, endpoint: TenantEndpoint, entry: OutboxEntry, stop: AbortSignal): Promise<string | null> {
    if (this.options.gate !== undefined && !this.options.gate.holds(tenantId)) return Promise.resolve('delivery lease lost');
    return this.deliver(endpoint, entry, stop);
  }

  private async deliver(endpoint: TenantEndpoint, entry: OutboxEntry, stop: AbortSignal): Promise<string | null> {
    const unixSeconds = Math.floor(this.clock.nowMs() / 1000);
    try {
      const response = await request(endpoint.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'sendgate-webhooks',
          // The entry's own format decides, not the endpoint's: its body was made for it.
          ...(entry.format === 'meta'
            ? { [HUB_SIGNATURE_HEADER]: signMetaBody(entry.body, endpoint.secret) }
            : { [SIGNATURE_HEADER]: signTenantBody(endpoint.secret, unixSeconds, entry.body, entry.eventId) }),
          [EVENT_ID_HEADER]: entry.eventId,
        },
        body: entry.body,
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), stop]),
      });
      await response.body.dump();
      return response.statusCode >= 200 && response.statusCode < 300 ? null : `HTTP ${response.statusCode}`;
    } catch (err) {
      // The code only (ECONNREFUSED, UND_ERR_HEADERS_TIMEOUT, ...): messages may echo the URL.
      const code = (err as { code?: unknown }).code;
      return `network: ${typeof code === 'string' ? code : err instanceof Error ? err.name : 'error'}`;
    }
  }
}

/** Meta's signature header: `sha256=<hex HMAC-SHA256(app secret, raw body)>`; the tenant secret is the app secret. */
const HUB_SIGNATURE_HEADER = 'x-hub-signature-256';

const COUNTER_NAMES = ['attempts', 'delivered', 'failedAttempts', 'dead', 'pending'] as const;

/** Order key from the event's own fields: per-recipient order is what tenants rely on. */
function defaultOrderKey(event: object): string {
  const e = event as Record<string, unknown>;
  for (const field of ['recipient', 'to', 'from', 'wa_id']) {
    const v = e[field];
    if (typeof v === 'string' || typeof v === 'number') return String(v);
  }
  return '';
}
