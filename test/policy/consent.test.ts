import { describe, expect, it } from 'vitest';
import { harness, refusalOf, TENANT, template, text } from './harness.js';

const USER = '15550000001';
const marketing = template('spring_sale', ['20%']);

describe('policy optOut', () => {
  it('STOP from the user refuses marketing templates, keeps utility and replies, and is audited', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    expect(() => h.admit({ body: marketing, category: 'marketing' })).not.toThrow();
    h.inbound(USER, '  Stop! ');
    const refused = refusalOf(() => h.admit({ body: marketing, category: 'marketing' }));
    expect(refused).toMatchObject({ code: 'RECIPIENT_OPTED_OUT', status: 422 });
    expect(refused.details).toMatch(/^policy optOut: 15550000001 opted out \(source inbound/);
    // A template with no category header is treated as marketing.
    expect(refusalOf(() => h.admit({ body: marketing, category: 'unknown' })).code).toBe('RECIPIENT_OPTED_OUT');
    expect(() => h.admit({ body: template('order_update', ['A-1']), category: 'utility' })).not.toThrow();
    expect(() => h.admit({ body: text('we will stop, sorry') })).not.toThrow(); // window opened by the STOP itself
    expect(h.engine.consentOf(TENANT, USER).current).toMatchObject({ status: 'opt_out', source: 'inbound', atMs: h.clock.nowMs() });
    h.engine.close();
  });

  it('opt-out words: whole message only, accents and case folded, tenant list replaces the defaults', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    h.inbound('15550000002', 'please stop sending me offers');
    h.inbound('15550000003', 'arrêt');
    h.inbound('15550000004', 'BAJA');
    expect(() => h.admit({ to: '15550000002', body: marketing, category: 'marketing' })).not.toThrow();
    expect(refusalOf(() => h.admit({ to: '15550000003', body: marketing, category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    expect(refusalOf(() => h.admit({ to: '15550000004', body: marketing, category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    h.engine.close();

    const custom = await harness({ policy: { optIn: 'off', optOutWords: ['Salir'] } });
    custom.inbound('15550000005', 'STOP');
    custom.inbound('15550000006', 'sálir');
    expect(() => custom.admit({ to: '15550000005', body: marketing, category: 'marketing' })).not.toThrow();
    expect(refusalOf(() => custom.admit({ to: '15550000006', body: marketing, category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    custom.engine.close();
  });

  it('an opt-in recorded later lifts the opt-out; an older one (import) does not undo a recent STOP', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    h.inbound(USER, 'STOP');
    h.engine.recordConsent([{ tenantId: TENANT, recipient: USER, status: 'opt_in', source: 'crm', atMs: h.clock.nowMs() - 86_400_000 }]);
    expect(refusalOf(() => h.admit({ body: marketing, category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    h.clock.advance(60_000);
    h.engine.recordConsent([{ tenantId: TENANT, recipient: USER, status: 'opt_in', source: 'web-form', atMs: h.clock.nowMs() }]);
    expect(() => h.admit({ body: marketing, category: 'marketing' })).not.toThrow();
    expect(h.engine.consentOf(TENANT, USER).history.map((r) => r.source)).toEqual(['web-form', 'crm', 'inbound']);
    h.engine.close();
  });

  it('Meta 131050 (user stopped marketing in WhatsApp) is recorded as an opt-out', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    h.engine.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: '1001', to: USER, code: 131050 });
    expect(refusalOf(() => h.admit({ body: marketing, category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    h.engine.close();
  });
});

describe('policy optIn', () => {
  it('enforce: business-initiated templates need a recorded opt-in', async () => {
    const h = await harness({ policy: { optIn: 'enforce' } });
    const refused = refusalOf(() => h.admit({ body: template('order_update', ['A-1']), category: 'utility' }));
    expect(refused).toMatchObject({ code: 'OPT_IN_REQUIRED', status: 422 });
    expect(refused.details).toMatch(/POST \/v1\/consent/);
    h.engine.recordConsent([{ tenantId: TENANT, recipient: USER, status: 'opt_in', source: 'checkout', atMs: h.clock.nowMs() }]);
    expect(h.admit({ body: template('order_update', ['A-1']), category: 'utility' }).warnings).toEqual([]);
    h.engine.recordConsent([{ tenantId: TENANT, recipient: '15550000008', status: 'opt_out', source: 'web', atMs: h.clock.nowMs() }]);
    const optedOut = refusalOf(() => h.admit({ to: '15550000008', body: template('order_update', ['A-1']), category: 'utility' }));
    expect(optedOut).toMatchObject({ code: 'OPT_IN_REQUIRED' });
    expect(optedOut.details).toMatch(/^policy optIn: 15550000008 opted out/);
    // Inside an open window a template is a reply, not business-initiated.
    h.inbound('15550000009', 'hello');
    expect(() => h.admit({ to: '15550000009', body: template('menu'), category: 'utility' })).not.toThrow();
    h.engine.close();
  });

  it('warn (default): sends, flags the admission and counts it', async () => {
    const h = await harness();
    const admission = h.admit({ body: template('order_update', ['A-1']), category: 'utility' });
    expect(admission.warnings).toHaveLength(1);
    expect(admission.warnings[0]).toMatch(/^optIn: 15550000001 has no recorded opt-in/);
    expect(h.engine.stats().warned).toEqual({ [TENANT]: 1 });
    h.engine.close();
  });

  it('off: no consent lookup needed, no warning', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    expect(h.admit({ body: template('order_update', ['A-1']), category: 'utility' }).warnings).toEqual([]);
    h.engine.close();
  });
});
