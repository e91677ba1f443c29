/**
 * Adapters from the Meta webhook consumer's hooks (src/webhooks) to the policy engine, so the
 * integrator wires one object: `new MetaEventConsumer({ ..., hooks: policyConsumerHooks(engine, tenants) })`.
 * - inbound → engine.onInbound (opens the window; the engine applies the tenant's own opt-out words);
 * - business_capability_update / quality update with a new limit → engine.setMessagingLimit for
 *   the tenant owning the number (the limit is the portfolio's: Meta states it per business).
 */
import { isTemplateText } from '../cloud-api/index.js';
import type { MessageRecord } from '../store/types.js';
import type { CapabilityEvent, ConsumerHooks, InboundNotice, NumberOwners, QualityEvent, StatusEvent } from '../webhooks/index.js';
import type { PolicyEngine } from './types.js';

export function policyConsumerHooks(
  engine: Pick<PolicyEngine, 'onInbound' | 'setMessagingLimit' | 'onDeliveryFailure' | 'onFinal'>,
  owners: NumberOwners,
): Required<ConsumerHooks> {
  return {
    /** Asynchronous failures: defer or mark the recipient (131049, 131026), and give the tier slot back. */
    onStatus(record: MessageRecord, event: StatusEvent): void {
      if (event.status !== 'failed') return;
      const code = event.errors?.[0]?.code ?? 0;
      engine.onDeliveryFailure({ tenantId: record.tenantId, phoneNumberId: record.phoneNumberId, to: record.to, code });
      engine.onFinal({ tenantId: record.tenantId, to: record.to, state: 'failed', template: isTemplateText(record.body) });
    },
    onInbound(notice: InboundNotice): void {
      engine.onInbound({ phoneNumberId: notice.phoneNumberId, from: notice.from, text: notice.event.text, timestampMs: notice.atMs });
    },
    onSignal(event: QualityEvent | CapabilityEvent): void {
      const limit = event.kind === 'capability' ? event.maxDailyConversationsPerBusiness : event.maxDailyConversations ?? event.currentLimit;
      // A malformed limit is ignored, never thrown: a throw here would make Meta retry the whole batch.
      if (limit === undefined || event.phoneNumberId === null || (limit !== 'unlimited' && !(Number.isInteger(limit) && limit >= 1))) return;
      const owner = owners.number(event.phoneNumberId);
      if (owner !== undefined) engine.setMessagingLimit(owner.tenant.id, limit);
    },
  };
}
