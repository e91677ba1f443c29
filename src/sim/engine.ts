/**
 * The simulator's decisions, free of HTTP: who is calling, is the body valid, which fault fires,
 * do throughput / pair rate / service window allow the send. The Fastify layer (app.ts) only maps
 * the outcome to a response, so tests and benchmarks can reason about one place.
 */
import type { Clock } from '../clock.js';
import { isMarkRead, isTemplate, messageCategory, waIdOf, metaError, newFbtraceId, toE164Digits, validateMessageBody } from '../cloud-api/index.js';
import type { SimConfig, SimFaults, SimNumber } from './config.js';
import { signalChange, type SimSignal } from './signals.js';
import { drawAsyncError, drawFault, drawLatencyMs, resolveFaults } from './faults.js';
import { gcraForce, gcraTake } from './gcra.js';
import { NumberState, type NumberStatsView, type PairStats } from './number-state.js';
import { StatusFlow } from './status-flow.js';
import { WebhookSender, type WebhookStats } from './webhook-sender.js';

export type Outcome =
  | { kind: 'reply'; status: number; payload: string; latencyMs: number }
  | { kind: 'timeout' }
  | { kind: 'reset' };

export interface InboundInput {
  phoneNumberId: string;
  /** The user's number (any E.164 spelling). */
  from: string;
  text: string;
  /** Profile name shown in `contacts[].profile.name`. */
  name?: string;
}

export interface SimStats {
  startedAtMs: number;
  totals: { accepted: number; refused: number };
  /** Send requests by HTTP version of the connection they came on ('1.1', '2.0'). */
  protocols: Record<string, number>;
  numbers: Record<string, NumberStatsView>;
  /** Per number, per recipient wa_id. */
  pairs: Record<string, Record<string, PairStats>>;
  webhooks: (WebhookStats & { statusesPending: number; statusesDropped: number }) | null;
}

/** The auth scheme is case-insensitive (RFC 7235); the exact `Bearer ` spelling takes the fast path. */
const BEARER = /^bearer /i;

/** Numbers created on the fly when `acceptAnyNumber` is on are capped so a scan cannot grow memory. */
const MAX_AUTO_NUMBERS = 10_000;

export class SimEngine {
  private states = new Map<string, NumberState>();
  private protocols: Record<string, number> = {};
  private readonly numberConfigs = new Map<string, SimNumber>();
  private globalFaults: SimFaults;
  private epochMs: number;
  private wamidCounter = 0;
  private readonly wamidPrefix: string;
  private readonly sender: WebhookSender | undefined;
  private readonly flow: StatusFlow | undefined;

  constructor(private readonly cfg: SimConfig, private readonly clock: Clock) {
    this.globalFaults = cfg.faults;
    for (const n of cfg.numbers) this.numberConfigs.set(n.phoneNumberId, n);
    this.epochMs = clock.nowMs();
    this.wamidPrefix = `HBgL${newFbtraceId().slice(0, 8)}`;
    if (cfg.webhook) {
      this.sender = new WebhookSender(cfg.webhook);
      this.flow = new StatusFlow(cfg.webhook.statuses, this.sender, clock);
    }
    this.rebuild();
  }

  /** Counts a request that came in: how long it must wait before send() looks at it (0: now). */
  arrivalDelayMs(phoneNumberId: string): number {
    const n = this.states.get(phoneNumberId);
    const delay = n?.faults.arrivalDelay;
    if (n === undefined || delay === undefined) return 0;
    return ++n.arrivals <= delay.requests ? delay.delayMs : 0;
  }

  send(phoneNumberId: string, authorization: string | undefined, body: unknown): Outcome {
    const n = this.lookup(phoneNumberId, authorization);
    if (!n) {
      return this.error(100, `Unsupported post request. Object with ID '${phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`);
    }
    if (!this.tokenMatches(n, authorization)) {
      n.countRefused(190);
      return this.error(190, authorization ? 'Invalid OAuth access token.' : 'An active access token must be used.');
    }
    const problem = validateMessageBody(body);
    if (problem) {
      n.countRefused(problem.code);
      return this.error(problem.code, problem.details);
    }
    const latencyMs = n.faults.latency ? drawLatencyMs(n.faults.latency, n.random) : 0;
    const now = this.clock.nowMs();
    if (!n.faults.none) {
      const fault = drawFault(n.faults, now - this.epochMs, n.random);
      if (fault.kind === 'timeout') {
        n.timeouts++;
        return fault;
      }
      if (fault.kind === 'reset') {
        n.resets++;
        return fault;
      }
      if (fault.kind === 'error') {
        n.countRefused(fault.code);
        return this.error(fault.code, undefined, latencyMs);
      }
    }
    const msg = body as Record<string, unknown>;
    if (isMarkRead(msg)) {
      n.markedRead++;
      return { kind: 'reply', status: 200, payload: '{"success":true}', latencyMs };
    }
    return this.admit(n, msg, now, latencyMs);
  }

  /** A user message arriving at the number: charges throughput, opens the service window, emits the webhook. */
  inbound(input: InboundInput): string {
    const n = this.states.get(input.phoneNumberId);
    if (!n) throw new Error(`simulator: unknown phone number id ${input.phoneNumberId}`);
    const digits = toE164Digits(input.from);
    if (!digits) throw new Error('simulator: inbound `from` is not an E.164 number');
    const from = waIdOf(digits); // users write from their wa_id
    const now = this.clock.nowMs();
    if (this.cfg.limits.countInbound) n.tatMs = gcraForce(n.tatMs, now, n.intervalMs);
    n.recordInbound(now, from);
    const wamid = this.nextWamid();
    this.sender?.enqueue({
      wabaId: n.wabaId,
      phoneNumberId: n.phoneNumberId,
      displayPhoneNumber: n.displayPhoneNumber,
      message: {
        contact: { profile: { name: input.name ?? 'Simulated User' }, wa_id: from },
        message: { from, id: wamid, timestamp: String(Math.floor(now / 1000)), type: 'text', text: { body: input.text } },
      },
    });
    return wamid;
  }

  /** Emits one of Meta's account webhooks about a number (signals.ts); throws without a webhook or number. */
  signal(signal: SimSignal): void {
    const n = this.states.get(signal.phoneNumberId);
    if (!n) throw new Error(`simulator: unknown phone number id ${signal.phoneNumberId}`);
    if (!this.sender) throw new Error('simulator: no webhook configured');
    const nowSec = Math.floor(this.clock.nowMs() / 1000);
    const { field, value } = signalChange(signal, n, nowSec);
    this.sender.sendChange(n.wabaId, field, value, nowSec);
  }

  /** Counts a send request's HTTP version (bounded: versions other than 1.x and 2.0 are lumped). */
  noteProtocol(httpVersion: string): void {
    const key = httpVersion === '2.0' || httpVersion === '1.1' || httpVersion === '1.0' ? httpVersion : 'other';
    this.protocols[key] = (this.protocols[key] ?? 0) + 1;
  }

  stats(): SimStats {
    const numbers: Record<string, NumberStatsView> = {};
    const pairs: Record<string, Record<string, PairStats>> = {};
    let accepted = 0;
    let refused = 0;
    for (const [id, n] of this.states) {
      const v = n.view();
      numbers[id] = v;
      pairs[id] = n.pairViews();
      accepted += v.accepted;
      for (const c of Object.values(v.refused)) refused += c;
    }
    const webhooks = this.sender && this.flow
      ? { ...this.sender.stats(), statusesPending: this.flow.pending, statusesDropped: this.flow.dropped }
      : null;
    return { startedAtMs: this.epochMs, totals: { accepted, refused }, protocols: { ...this.protocols }, numbers, pairs, webhooks };
  }

  /** Forgets all limiter state, windows, measurements and scheduled statuses; phases restart from now. Config changes made at run time stay. */
  reset(): void {
    this.flow?.cancelAll();
    this.sender?.resetStats();
    this.epochMs = this.clock.nowMs();
    this.protocols = {};
    this.rebuild();
  }

  /** Adds or replaces a number (its limiter state and measurements start fresh). */
  setNumber(n: SimNumber): void {
    this.numberConfigs.set(n.phoneNumberId, n);
    this.states.set(n.phoneNumberId, this.makeState(n));
  }

  removeNumber(phoneNumberId: string): void {
    this.numberConfigs.delete(phoneNumberId);
    this.states.delete(phoneNumberId);
  }

  /** Replaces the global faults, or one number's own faults; limiter state is kept. */
  setFaults(faults: SimFaults | undefined, phoneNumberId?: string): void {
    if (phoneNumberId === undefined) {
      this.globalFaults = faults ?? {};
      for (const [id, state] of this.states) state.faults = resolveFaults(this.globalFaults, this.numberConfigs.get(id)?.faults);
      return;
    }
    const current = this.numberConfigs.get(phoneNumberId);
    if (!current) throw new Error(`simulator: unknown phone number id ${phoneNumberId}`);
    const next = { ...current, faults };
    this.numberConfigs.set(phoneNumberId, next);
    const state = this.states.get(phoneNumberId);
    if (state) state.faults = resolveFaults(this.globalFaults, faults);
    else this.states.set(phoneNumberId, this.makeState(next));
  }

  /** Sends queued updates now (and, with `pendingStatuses`, statuses not yet due), then waits for in-flight POSTs. */
  async drainWebhooks(pendingStatuses = false): Promise<void> {
    if (pendingStatuses) this.flow?.fireAll();
    await this.sender?.drain();
  }

  async close(): Promise<void> {
    this.flow?.cancelAll();
    await this.sender?.close();
  }

  private admit(n: NumberState, msg: Record<string, unknown>, now: number, latencyMs: number): Outcome {
    const to = msg['to'] as string;
    // WhatsApp's own id for the user (Mexico 521, Brazil without the ninth digit), as Meta answers it.
    const recipient = msg['recipient_type'] === 'group' ? to : waIdOf(toE164Digits(to) as string);
    const tat = gcraTake(n.tatMs, now, n.intervalMs, n.burst);
    if (tat < 0) {
      n.countRefused(130429);
      return this.error(130429, undefined, latencyMs);
    }
    const pairOn = n.pairIntervalMs > 0;
    const pairTat = pairOn ? n.pairs.peek(recipient, now, n.pairIntervalMs, n.pairBurst) : 0;
    if (pairTat < 0) {
      n.countRefused(131056);
      n.recordPairRefusal(recipient);
      return this.error(131056, undefined, latencyMs);
    }
    const template = isTemplate(msg);
    let asyncErrorCode = 0;
    if (!template && n.serviceWindow !== 'off' && !n.windowOpen(now, recipient)) {
      if (n.serviceWindow === 'sync') {
        n.countRefused(131047);
        return this.error(131047, undefined, latencyMs);
      }
      asyncErrorCode = 131047;
    }
    // Charged only once every check passed: a refusal costs the sender nothing.
    n.tatMs = tat;
    if (pairOn) n.pairs.commit(recipient, pairTat, now);
    n.recordAccept(now, recipient);
    const wamid = this.nextWamid();
    if (this.flow) {
      if (asyncErrorCode === 0) asyncErrorCode = drawAsyncError(n.faults, n.random);
      const category = messageCategory(msg);
      this.flow.start({
        wamid,
        phoneNumberId: n.phoneNumberId,
        displayPhoneNumber: n.displayPhoneNumber,
        wabaId: n.wabaId,
        recipientId: recipient,
        category: category === 'unknown' ? 'utility' : category,
        bizOpaqueCallbackData: msg['biz_opaque_callback_data'] as string | undefined,
        asyncErrorCode,
      }, n.random);
    }
    // Built by hand: this is the response every benchmark request gets (JSON.stringify of the object costs more).
    const payload = `{"messaging_product":"whatsapp","contacts":[{"input":${JSON.stringify(to)},"wa_id":${JSON.stringify(recipient)}}],"messages":[{"id":"${wamid}"${template ? ',"message_status":"accepted"' : ''}}]}`;
    return { kind: 'reply', status: 200, payload, latencyMs };
  }

  private error(code: number, details?: string, latencyMs = 0): Outcome {
    const { status, body } = metaError(code, details);
    return { kind: 'reply', status, payload: JSON.stringify(body), latencyMs };
  }

  /**
   * `GET /{version}/{waba-id}/message_templates`: the configured templates, to a token of one of
   * the WABA's numbers; undefined when none matches (Meta's 100 / 190).
   */
  templatesOf(wabaId: string, authorization: string | undefined): SimConfig['templates'] | undefined {
    for (const n of this.states.values()) {
      if (n.wabaId === wabaId && this.tokenMatches(n, authorization)) return this.cfg.templates;
    }
    return undefined;
  }

  /** The number exists and `authorization` carries its token (the media routes ask this). */
  authorized(phoneNumberId: string, authorization: string | undefined): boolean {
    const n = this.lookup(phoneNumberId, authorization);
    return n !== undefined && this.tokenMatches(n, authorization);
  }

  private tokenMatches(n: NumberState, authorization: string | undefined): boolean {
    return this.cfg.acceptAnyNumber
      ? authorization !== undefined && authorization.length > 7 && BEARER.test(authorization)
      : authorization === n.authorization || (authorization !== undefined && BEARER.test(authorization) && authorization.slice(7) === n.authorization.slice(7));
  }

  private lookup(phoneNumberId: string, authorization: string | undefined): NumberState | undefined {
    const n = this.states.get(phoneNumberId);
    if (n || !this.cfg.acceptAnyNumber || !authorization || this.states.size >= MAX_AUTO_NUMBERS) return n;
    if (!/^[0-9]{1,32}$/.test(phoneNumberId)) return undefined;
    const created = this.makeState(autoNumber(phoneNumberId));
    this.states.set(phoneNumberId, created);
    return created;
  }

  private nextWamid(): string {
    return `wamid.${this.wamidPrefix}${(++this.wamidCounter).toString(36).padStart(8, '0')}`;
  }

  private rebuild(): void {
    this.states = new Map();
    for (const n of this.numberConfigs.values()) this.states.set(n.phoneNumberId, this.makeState(n));
  }

  private makeState(n: SimNumber): NumberState {
    return new NumberState(n, this.cfg, this.globalFaults, this.cfg.maxTrackedPairs);
  }
}

function autoNumber(phoneNumberId: string): SimNumber {
  return { phoneNumberId, accessToken: '*' };
}
