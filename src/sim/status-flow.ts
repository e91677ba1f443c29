/**
 * After a send is accepted, the simulator plays its life as status webhooks: sent → delivered →
 * read, with `delivered` sometimes skipped, jitter that sometimes reorders them, and `failed`
 * (with `errors[]`) for injected asynchronous failures. Timers are bounded so a long benchmark
 * with webhooks on cannot hold unbounded memory.
 */
import type { Clock } from '../clock.js';
import { metaErrorSpec } from '../cloud-api/index.js';
import type { SimWebhook } from './config.js';
import type { Random } from './prng.js';
import type { WebhookSender } from './webhook-sender.js';

export interface AcceptedMessage {
  wamid: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  wabaId: string;
  recipientId: string;
  /** Pricing category reported on `sent`. */
  category: 'service' | 'marketing' | 'utility' | 'authentication';
  bizOpaqueCallbackData: string | undefined;
  /** A Meta code when the message is to fail asynchronously, else 0. */
  asyncErrorCode: number;
}

const MAX_PENDING_TIMERS = 200_000;
/** Up to +50 % of each delay, so two statuses of one message can cross. */
const JITTER = 0.5;

export class StatusFlow {
  /** Scheduled statuses: timer → when it is due and what it emits (so fireAll can play them early, in order). */
  private readonly timers = new Map<NodeJS.Timeout, { dueMs: number; emit: () => void }>();
  dropped = 0;

  constructor(
    private readonly cfg: SimWebhook['statuses'],
    private readonly sender: WebhookSender,
    private readonly clock: Clock,
  ) {}

  start(m: AcceptedMessage, random: Random): void {
    if (!this.cfg.enabled) return;
    const jitter = (ms: number): number => ms * (1 + JITTER * random());
    if (m.asyncErrorCode !== 0) {
      this.at(jitter(this.cfg.sentMs), m, 'failed');
      return;
    }
    this.at(jitter(this.cfg.sentMs), m, 'sent');
    const read = random() < this.cfg.readRate;
    const skipDelivered = read && random() < this.cfg.skipDeliveredRate;
    if (!skipDelivered) this.at(jitter(this.cfg.deliveredMs), m, 'delivered');
    if (read) this.at(jitter(this.cfg.readMs), m, 'read');
  }

  /** Number of statuses scheduled but not yet handed to the sender. */
  get pending(): number {
    return this.timers.size;
  }

  cancelAll(): void {
    for (const t of this.timers.keys()) clearTimeout(t);
    this.timers.clear();
  }

  /** Emits every scheduled status now, in due order (tests use it instead of sleeping). */
  fireAll(): void {
    const due = [...this.timers].sort((a, b) => a[1].dueMs - b[1].dueMs);
    this.cancelAll();
    for (const [, entry] of due) entry.emit();
  }

  private at(delayMs: number, m: AcceptedMessage, status: 'sent' | 'delivered' | 'read' | 'failed'): void {
    if (this.timers.size >= MAX_PENDING_TIMERS) {
      this.dropped++;
      return;
    }
    const emit = (): void => {
      this.sender.enqueue({
        wabaId: m.wabaId,
        phoneNumberId: m.phoneNumberId,
        displayPhoneNumber: m.displayPhoneNumber,
        status: statusObject(m, status, this.clock.nowMs()),
      });
    };
    const t = setTimeout(() => {
      this.timers.delete(t);
      emit();
    }, delayMs);
    this.timers.set(t, { dueMs: performance.now() + delayMs, emit });
  }
}

export function statusObject(m: AcceptedMessage, status: string, nowMs: number): Record<string, unknown> {
  const s: Record<string, unknown> = {
    id: m.wamid,
    status,
    timestamp: String(Math.floor(nowMs / 1000)),
    recipient_id: m.recipientId,
  };
  if (m.bizOpaqueCallbackData !== undefined) s['biz_opaque_callback_data'] = m.bizOpaqueCallbackData;
  if (status === 'sent') {
    const service = m.category === 'service';
    s['pricing'] = { billable: !service, pricing_model: 'PMP', type: service ? 'free_customer_service' : 'regular', category: m.category };
  }
  if (status === 'failed') {
    const spec = metaErrorSpec(m.asyncErrorCode);
    s['errors'] = [{
      code: m.asyncErrorCode,
      title: spec.title,
      message: spec.title,
      error_data: { details: spec.details },
      href: 'https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/',
    }];
  }
  return s;
}
