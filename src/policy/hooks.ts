/**
 * Adapters from the Meta webhook consumer's hooks (src/webhooks) to the policy engine, so the
 * integrator wires one object: `new MetaEventConsumer({ ..., hooks: policyConsumerHooks(engine, tenants) })`.
 * - inbound → engine.onInbound (opens the window; the engine applies the tenant's own opt-out words);
 * Account signals (capability, quality, account_update, user_preferences) are src/gateway/account-signals.ts.
 */
import { isTemplateText } from '../cloud-api/index.js';
import type { MessageRecord } from '../store/types.js';
import type { ConsumerHooks, InboundNotice, NumberOwners, StatusEvent } from '../webhooks/index.js';
import type { PolicyEngine } from './types.js';

/** Who owns what a webhook names: a number (messages, statuses) or an account (capability, quality). */
export interface SignalOwners extends NumberOwners {
  accountTenant(signal: { phoneNumberId: string | null; displayPhoneNumber?: string | null; wabaId: string }): { id: string } | undefined;
}

export function policyConsumerHooks(
  engine: Pick<PolicyEngine, 'onInbound' | 'onDeliveryFailure' | 'onFinal'>,
  owners: SignalOwners,
): Required<Omit<ConsumerHooks, 'onSignal'>> {
  return {
    /** Asynchronous failures: defer or mark the recipient (131049, 131026), and give the tier slot back. */
    onStatus(record: MessageRecord, event: StatusEvent): void {
      if (event.status !== 'failed') return;
      const code = event.errors?.[0]?.code ?? 0;
      engine.onDeliveryFailure({ tenantId: record.tenantId, phoneNumberId: record.phoneNumberId, to: record.to, code });
      engine.onFinal({ tenantId: record.tenantId, to: record.to, state: 'failed', template: isTemplateText(record.body) });
    },
    onInbound(notice: InboundNotice): void | Promise<void> {
      // A fleet's engine resolves once Redis holds the window: the consumer waits before Meta's 200.
      return engine.onInbound({ phoneNumberId: notice.phoneNumberId, from: notice.from, text: notice.event.text, timestampMs: notice.atMs });
    },
  };
}
