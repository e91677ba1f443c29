/**
 * Consent through the whole gateway: an inbound "STOP" (a signed webhook from the simulator)
 * suppresses marketing but not utility templates; with `optIn: "enforce"` a template needs an
 * opt-in recorded through the consent API.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';

describe('opt-out by inbound STOP (optIn warn)', () => {
  let s: E2eStack;
  beforeAll(async () => {
    s = await startE2e();
  });
  afterAll(() => s?.close());

  it('refuses marketing templates (by header or without category) and still sends utility', async () => {
    const to = user(10);
    // Before the STOP, marketing goes (optIn warn flags it).
    const before = await s.send(tpl(to), { 'x-sendgate-category': 'marketing' });
    expect(before.status).toBe(202);
    expect(before.json.sendgate_warnings?.[0]).toMatch(/optIn/);

    await s.inbound(to, ' stop! ');
    const marketing = await s.send(tpl(to), { 'x-sendgate-category': 'marketing' });
    expect(marketing.status).toBe(422);
    expect(marketing.json.error.code).toBe(131050);
    expect(marketing.json.error.error_data.details).toMatch(/^policy optOut:/);

    const uncategorised = await s.send(tpl(to));
    expect(uncategorised.status).toBe(422);
    expect(uncategorised.json.error.code).toBe(131050);

    const utility = await s.send(tpl(to, 'order_update'), { 'x-sendgate-category': 'utility' });
    expect(utility.status).toBe(202);
    await s.waitForState(utility.json.messages[0].id, ['sent', 'delivered', 'read']);

    // The opt-out is visible in the consent API, recorded from the inbound message.
    const consent = await s.get(`/v1/consent/${encodeURIComponent(to)}`);
    expect(consent.json.status).toBe('opt_out');

    // A user who wrote something else is not opted out.
    const other = user(11);
    await s.inbound(other, 'stop sending me the wrong size');
    expect((await s.send(tpl(other), { 'x-sendgate-category': 'marketing' })).status).toBe(202);
  });
});

describe('opt-in enforced', () => {
  let s: E2eStack;
  beforeAll(async () => {
    s = await startE2e({ tenant: { policy: { optIn: 'enforce' } } });
  });
  afterAll(() => s?.close());

  it('refuses a template without opt-in, sends it once the consent API recorded one', async () => {
    const to = user(20);
    const refused = await s.send(tpl(to), { 'x-sendgate-category': 'utility' });
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe(900422);
    expect(refused.json.error.error_data.details).toMatch(/^policy optIn:/);

    const recorded = await s.consent({ recipient: to, status: 'opt_in', source: 'checkout' });
    expect(recorded.status).toBe(200);

    const allowed = await s.send(tpl(to), { 'x-sendgate-category': 'utility' });
    expect(allowed.status).toBe(202);
    expect(allowed.json.sendgate_warnings).toBeUndefined();
    await s.waitForState(allowed.json.messages[0].id, ['sent', 'delivered', 'read']);

    // Someone else still has none.
    expect((await s.send(tpl(user(21)), { 'x-sendgate-category': 'utility' })).status).toBe(422);

    // A later withdrawal through the API takes effect on the very next send (consent reads are cached).
    expect((await s.consent({ recipient: to, status: 'opt_out', source: 'support-call' })).status).toBe(200);
    const withdrawn = await s.send(tpl(to), { 'x-sendgate-category': 'marketing' });
    expect(withdrawn.status).toBe(422);
    expect(withdrawn.json.error.code).toBe(131050);
    expect((await s.send(tpl(to), { 'x-sendgate-category': 'utility' })).json.error.code).toBe(900422);
  });
});
