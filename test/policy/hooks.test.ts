/** The webhook consumer's hooks, driven by the real Meta consumer and parser, reach the policy engine. */
import { describe, expect, it } from 'vitest';
import { AccountSignals } from '../../src/gateway/account-signals.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { policyConsumerHooks } from '../../src/policy/index.js';
import { MetaEventConsumer, parseMetaWebhook } from '../../src/webhooks/index.js';
import { inboundPayload } from '../webhooks/fixtures.js';
import { harness, recipient, refusalOf, template, text } from './harness.js';

const WABA = '102290129340398';

/** A Meta webhook POST body with one change of `field`, as Meta sends it for the WABA. */
function metaChange(field: string, value: Record<string, unknown>): object {
  return { object: 'whatsapp_business_account', entry: [{ id: WABA, time: 1_749_416_383, changes: [{ field, value }] }] };
}

/** The real Meta consumer wired to the policy engine and the account signals, as the gateway wires them. */
function signalConsumer(h: Awaited<ReturnType<typeof harness>>): MetaEventConsumer {
  const tenants = new TenantRegistry(h.config);
  const signals = new AccountSignals({
    tenants, clock: h.clock, store: { putControl: async () => {} },
    setMessagingLimit: (id, limit) => h.engine.setMessagingLimit(id, limit),
    recordConsent: (records) => h.engine.recordConsent(records),
  });
  return new MetaEventConsumer({
    records: { findByWamid: async () => null, transition: async () => false },
    owners: tenants,
    sink: { enqueue: async () => 'ok' },
    clock: h.clock,
    hooks: { ...policyConsumerHooks(h.engine, tenants), onSignal: signals.onSignal },
  });
}

describe('policyConsumerHooks', () => {
  it('an inbound webhook opens the window and a STOP records the opt-out', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    const tenants = new TenantRegistry(h.config);
    const consumer = new MetaEventConsumer({
      records: { findByWamid: async () => null, transition: async () => false },
      owners: tenants,
      sink: { enqueue: async () => 'ok' },
      clock: h.clock,
      hooks: policyConsumerHooks(h.engine, tenants),
    });
    // The fixture's messages were written at 2025-06-08T20:59:43Z; a minute later they arrive.
    h.clock.set(1_749_416_383_000 + 60_000);
    await consumer.onEvents(parseMetaWebhook(inboundPayload([{ id: 'wamid.a', from: '16505550001', body: 'where is my order?' }])));
    await consumer.onEvents(parseMetaWebhook(inboundPayload([{ id: 'wamid.b', from: '16505550002', body: 'STOP' }])));
    h.clock.advance(23 * 3600_000); // the window runs from when the user wrote, not from arrival
    expect(() => h.admit({ to: '16505550001', body: text('on its way') })).not.toThrow();
    expect(refusalOf(() => h.admit({ to: '16505550002', body: template('promo', ['x']), category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    h.clock.advance(59 * 60_000 + 30_000); // 24 h + 30 s after it was written, 23 h 59 m 30 s after it arrived
    expect(refusalOf(() => h.admit({ to: '16505550001', body: text('too late') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    consumer.close();
    h.engine.close();
  });

  // Meta's account webhooks name the WhatsApp Business Account (`entry[].id`) and, for quality
  // updates, the display phone number; neither carries `phone_number_id` (parse.test.ts shows them
  // parsed with `phoneNumberId: null`). The tenant is found by `tenants[].wabaIds` or a number's
  // `displayPhoneNumber`.
  it('real capability and quality updates set the tenant limit', async () => {
    const h = await harness({
      policy: { optIn: 'off' },
      tenant: { wabaIds: [WABA] },
      numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-1', displayPhoneNumber: '15550001001' }, { phoneNumberId: '1002', accessToken: 'EAAG-2' }],
    });
    const consumer = signalConsumer(h);
    const utility = (i: number) => () => h.admit({ to: recipient(i), body: template('t', ['x']), category: 'utility' });
    for (let i = 0; i < 250; i++) utility(i)();
    expect(refusalOf(utility(250)).code).toBe('MESSAGING_LIMIT_REACHED'); // the configured 250

    await consumer.onEvents(parseMetaWebhook(metaChange('business_capability_update', { max_daily_conversation_per_phone: 2000, max_phone_numbers_per_business: 2 })));
    expect(utility(250)).not.toThrow();

    await consumer.onEvents(parseMetaWebhook(metaChange('phone_number_quality_update', { display_phone_number: '15550001001', event: 'DOWNGRADE', current_limit: 'TIER_250', old_limit: 'TIER_2K' })));
    expect(refusalOf(utility(251)).code).toBe('MESSAGING_LIMIT_REACHED');

    await consumer.onEvents(parseMetaWebhook(metaChange('phone_number_quality_update', { display_phone_number: '15550001001', event: 'UPGRADE', current_limit: 'TIER_10K', max_daily_conversations_per_business: 'TIER_10K' })));
    expect(utility(251)).not.toThrow();
    consumer.close();
    h.engine.close();
  });

  it('real signals with a missing or unknown limit are taken without a throw (Meta would retry the batch) and change nothing', async () => {
    const h = await harness({ policy: { optIn: 'off' }, tenant: { messagingLimit: 2000 } });
    const consumer = signalConsumer(h);
    const payloads = [
      metaChange('phone_number_quality_update', { display_phone_number: '15550001001', event: 'FLAGGED', current_limit: 'TIER_NOT_SET' }),
      metaChange('phone_number_quality_update', { display_phone_number: '15550001001', event: 'THROUGHPUT_UPGRADE' }),
      metaChange('business_capability_update', { max_daily_conversation_per_phone: 0, max_phone_numbers_per_business: 2 }),
      metaChange('business_capability_update', { max_daily_conversations_per_business: 'TIER_X' }),
    ];
    for (const payload of payloads) {
      const events = parseMetaWebhook(payload);
      // One signal for sendgate, and the change as Meta sent it for Meta-format tenants.
      expect(events.filter((e) => e.kind !== 'passthrough')).toHaveLength(1);
      expect(events.filter((e) => e.kind === 'passthrough')).toHaveLength(1);
      await expect(consumer.onEvents(events)).resolves.toBeUndefined();
    }
    expect(consumer.stats().signals).toBe(payloads.length);
    for (let i = 0; i < 300; i++) h.admit({ to: recipient(i), body: template('t', ['x']), category: 'utility' });
    consumer.close();
    h.engine.close();
  });
});

describe('account signals reach only the tenant they name', () => {
  it('a WABA id or display number no tenant has changes nothing', async () => {
    const h = await harness({ policy: { optIn: 'off' }, tenant: { wabaIds: ['999'] } });
    const consumer = signalConsumer(h);
    for (let i = 0; i < 250; i++) h.admit({ to: recipient(i), body: template('t', ['x']), category: 'utility' });
    await consumer.onEvents(parseMetaWebhook(metaChange('business_capability_update', { max_daily_conversation_per_phone: 2000 })));
    await consumer.onEvents(parseMetaWebhook(metaChange('phone_number_quality_update', { display_phone_number: '15559999999', event: 'UPGRADE', current_limit: 'TIER_10K' })));
    expect(refusalOf(() => h.admit({ to: recipient(250), body: template('t', ['x']), category: 'utility' })).code).toBe('MESSAGING_LIMIT_REACHED');
    consumer.close();
    h.engine.close();
  });
});
