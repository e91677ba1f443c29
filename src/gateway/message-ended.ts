/**
 * The one place that decides what follows when a message ends without being sent — failed at the
 * upstream, expired before its deadline, or rejected at departure by a policy: its policy charges
 * are given back (tier slot, repeat slot) and the tenant's webhook hears of it
 * (Meta never sends a status for a message it did not accept). Sent messages end through Meta's
 * status webhooks instead (src/webhooks/meta). What an upstream answer teaches about the recipient
 * (131026, 131049, 131050) is learned at the attempt (server.ts), while other messages to them wait.
 * A tenant whose webhook takes Meta's format gets a `failed` status in Meta's shape instead
 * (src/webhooks/tenant/meta-format.ts), so its handler's failure path sees these endings too.
 */
import type { DispatchEvent } from '../dispatch/types.js';
import { endedEnvelope, idsOf } from '../webhooks/tenant/meta-format.js';
import type { Components } from './components.js';

type Parts = Pick<Components, 'policy' | 'store' | 'webhooks'> & Partial<Pick<Components, 'tenants'>>;

type FinalEvent = Extract<DispatchEvent, { type: 'final' }>;

export interface MessageEndings {
  /** A final event from the dispatcher; settled in the background. */
  ended(event: FinalEvent): void;
  /** Resolves once every settlement started so far has finished (shutdown, before storage closes). */
  drain(): Promise<void>;
}

export function messageEndings(parts: Parts, log: { error(obj: object, msg: string): void }): MessageEndings {
  const unsettled = new Set<Promise<void>>();
  return {
    ended(event) {
      if (event.state === 'sent') return;
      const settling = settleUnsent(parts, event)
        .catch((err: unknown) => log.error({ err, id: event.id }, 'settling an unsent message failed'))
        .finally(() => unsettled.delete(settling));
      unsettled.add(settling);
    },
    async drain() {
      await Promise.all(unsettled);
    },
  };
}

async function settleUnsent(parts: Parts, event: FinalEvent): Promise<void> {
  if (event.state === 'sent') return;
  parts.policy.onFinal({ tenantId: event.tenantId, to: event.to, state: event.state, template: event.template });
  const record = await parts.store.get(event.tenantId, event.id);
  if (record === null) return;
  const eventId = `evt_final_${record.id}`;
  if (parts.webhooks.sender.formatOf(record.tenantId) === 'meta') {
    // A mark-as-read (no recipient) is no message in Meta's world: Meta never reports on one.
    if (record.to === '') return;
    const owner = parts.tenants?.number(record.phoneNumberId);
    const envelope = endedEnvelope({
      record, state: event.state, ids: idsOf(record, false), atMs: record.updatedAtMs,
      displayPhoneNumber: owner?.number.displayPhoneNumber ?? '', wabaId: owner?.tenant.wabaIds?.[0] ?? '',
    });
    await parts.webhooks.sender.enqueue(record.tenantId, envelope, { orderKey: record.to, eventId, format: 'meta' });
    return;
  }
  const body: Record<string, unknown> = {
    type: 'message.status', id: record.id, wamid: record.wamid, status: event.state,
    recipient: record.to, phoneNumberId: record.phoneNumberId, timestamp: record.updatedAtMs,
  };
  if (record.lastError !== null) body.errors = [record.lastError];
  await parts.webhooks.sender.enqueue(record.tenantId, body, { orderKey: record.to, eventId });
}
