/**
 * Delivers webhook events like Meta: updates are batched per WABA for `flushMs` (up to `batchMax`
 * per POST), serialised as ASCII-escaped JSON, signed with the app secret, and retried on any
 * answer other than 200 along a compressed version of Meta's 7-day schedule, then dropped.
 */
import { Agent, request } from 'undici';
import { asciiJson, hubSignature256 } from './ascii-json.js';
import type { SimWebhook } from './config.js';

/** One `value` of a `changes[]` item, before batching: statuses or inbound messages of one number. */
export interface WebhookUpdate {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  status?: Record<string, unknown>;
  message?: { contact: Record<string, unknown>; message: Record<string, unknown> };
}

export interface WebhookStats {
  /** POST attempts made (first tries and retries). */
  posts: number;
  delivered: number;
  retries: number;
  /** POSTs given up after the last retry. */
  dropped: number;
  /** Updates waiting for the next batch. */
  queued: number;
  /** POSTs in flight or waiting to be retried. */
  inFlight: number;
}

export class WebhookSender {
  private queue: WebhookUpdate[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Set<Promise<void>>();
  private readonly agent = new Agent({ connections: 16, keepAliveTimeout: 4000 });
  private closed = false;
  private counters = { posts: 0, delivered: 0, retries: 0, dropped: 0 };

  constructor(private readonly cfg: SimWebhook) {}

  enqueue(update: WebhookUpdate): void {
    if (this.closed) return;
    this.queue.push(update);
    if (this.queue.length >= this.cfg.batchMax) this.flushNow();
    else if (this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => this.flushNow(), this.cfg.flushMs);
    }
  }

  /**
   * One account-level change (`business_capability_update`, `phone_number_quality_update`,
   * `account_update`, ...) in its own POST, signed and retried like the others.
   */
  sendChange(wabaId: string, field: string, value: Record<string, unknown>, timeSec: number): void {
    if (this.closed) return;
    const payload = { object: 'whatsapp_business_account', entry: [{ id: wabaId, time: timeSec, changes: [{ value, field }] }] };
    this.track(this.deliver(asciiJson(payload), 0));
  }

  /** Sends everything queued and waits until no POST is in flight (retries included). */
  async drain(): Promise<void> {
    this.flushNow();
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  stats(): WebhookStats {
    return { ...this.counters, queued: this.queue.length, inFlight: this.pending.size };
  }

  resetStats(): void {
    this.counters = { posts: 0, delivered: 0, retries: 0, dropped: 0 };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.queue = [];
    await this.agent.close().catch(() => undefined);
  }

  private flushNow(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.cfg.batchMax);
      this.track(this.deliver(asciiJson(buildPayload(batch)), 0));
    }
  }

  private track(p: Promise<void>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  private async deliver(body: string, attempt: number): Promise<void> {
    if (this.closed) return;
    this.counters.posts++;
    let ok = false;
    try {
      const res = await request(this.cfg.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': hubSignature256(body, this.cfg.appSecret) },
        body,
        headersTimeout: this.cfg.timeoutMs,
        bodyTimeout: this.cfg.timeoutMs,
      });
      await res.body.dump();
      ok = res.statusCode === 200; // Meta treats only 200 as delivered
    } catch {
      ok = false; // network errors and timeouts are retried like non-200 answers
    }
    if (ok) {
      this.counters.delivered++;
      return;
    }
    const delayMs = this.cfg.retryDelaysMs[attempt];
    if (delayMs === undefined || this.closed) {
      this.counters.dropped++;
      return;
    }
    this.counters.retries++;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, delayMs);
      this.timers.add(t);
    });
    await this.deliver(body, attempt + 1);
  }
}

/** Groups updates as Meta does: one entry per WABA, one change per (number, kind of update). */
export function buildPayload(batch: readonly WebhookUpdate[]): Record<string, unknown> {
  const entries = new Map<string, Map<string, Record<string, unknown>>>();
  for (const u of batch) {
    let changes = entries.get(u.wabaId);
    if (!changes) entries.set(u.wabaId, (changes = new Map()));
    const kind = u.status ? 's' : 'm';
    const key = `${u.phoneNumberId}:${kind}`;
    let value = changes.get(key);
    if (!value) {
      value = {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: u.displayPhoneNumber, phone_number_id: u.phoneNumberId },
      };
      if (kind === 's') value['statuses'] = [];
      else {
        value['contacts'] = [];
        value['messages'] = [];
      }
      changes.set(key, value);
    }
    if (u.status) (value['statuses'] as unknown[]).push(u.status);
    else if (u.message) {
      (value['contacts'] as unknown[]).push(u.message.contact);
      (value['messages'] as unknown[]).push(u.message.message);
    }
  }
  return {
    object: 'whatsapp_business_account',
    entry: [...entries].map(([id, changes]) => ({
      id,
      changes: [...changes.values()].map((value) => ({ field: 'messages', value })),
    })),
  };
}
