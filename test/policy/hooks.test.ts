/** The webhook consumer's hooks, driven by the real Meta consumer and parser, reach the policy engine. */
import { describe, expect, it } from 'vitest';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { policyConsumerHooks } from '../../src/policy/index.js';
import { MetaEventConsumer, parseMetaWebhook } from '../../src/webhooks/index.js';
import { inboundPayload } from '../webhooks/fixtures.js';
import { harness, recipient, refusalOf, template, text } from './harness.js';

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

  it('a capability update sets the tenant limit; malformed limits are ignored', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    const hooks = policyConsumerHooks(h.engine, new TenantRegistry(h.config));
    hooks.onSignal({ kind: 'capability', phoneNumberId: '1001', wabaId: 'w', maxDailyConversationsPerBusiness: 1 });
    h.admit({ to: recipient(0), body: template('t', ['x']), category: 'utility' });
    expect(refusalOf(() => h.admit({ to: recipient(1), body: template('t', ['x']), category: 'utility' })).code).toBe('MESSAGING_LIMIT_REACHED');
    hooks.onSignal({ kind: 'capability', phoneNumberId: '1001', wabaId: 'w', maxDailyConversationsPerBusiness: 0 });
    hooks.onSignal({ kind: 'capability', phoneNumberId: null, wabaId: 'w', maxDailyConversationsPerBusiness: 'unlimited' });
    expect(refusalOf(() => h.admit({ to: recipient(1), body: template('t', ['x']), category: 'utility' })).code).toBe('MESSAGING_LIMIT_REACHED');
    hooks.onSignal({ kind: 'quality', phoneNumberId: '1001', displayPhoneNumber: null, wabaId: 'w', event: 'UPGRADE', maxDailyConversations: 'unlimited' });
    expect(() => h.admit({ to: recipient(1), body: template('t', ['x']), category: 'utility' })).not.toThrow();
    h.engine.close();
  });
});
