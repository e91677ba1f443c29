/**
 * Shadow mode through the whole gateway: what enforce mode would refuse is accepted, sent and
 * delivered, and counted in sendgate_policy_refusals_total{mode="shadow"}; opt-outs still refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, startE2e, text, tpl, user, type E2eStack } from '../support/e2e-stack.js';

let s: E2eStack;
beforeAll(async () => {
  s = await startE2e({
    tenant: { policy: { mode: 'shadow', optIn: 'enforce', links: { allowedDomains: ['shop.example'] } } },
    sim: { webhook: { statuses: { sentMs: 5, deliveredMs: 20, readRate: 0 } } },
  });
});
afterAll(() => s?.close());

const refusals = async (policy: string, mode: string) =>
  metricValue(await s.metrics(), 'sendgate_policy_refusals_total', { tenant: 'acme', policy, mode });

describe('shadow mode', () => {
  it('accepts and delivers what enforce would refuse, and counts it', async () => {
    expect(await refusals('serviceWindow', 'shadow')).toBe(0);
    const outside = await s.send(text(user(600), 'free-form outside the window'));
    expect(outside.status).toBe(202);
    const delivered = await s.waitForState(outside.json.messages[0].id, ['delivered']);
    expect(delivered.wamid).toMatch(/^wamid\./);
    expect(await refusals('serviceWindow', 'shadow')).toBe(1);

    const link = await s.send(text(user(601), 'see https://elsewhere.test/x'));
    expect(link.status).toBe(202);
    await s.waitForState(link.json.messages[0].id, ['delivered']);
    expect(await refusals('links', 'shadow')).toBe(1);

    const noOptIn = await s.send(tpl(user(602)), { 'x-sendgate-category': 'utility' });
    expect(noOptIn.status).toBe(202);
    expect(await refusals('optIn', 'shadow')).toBe(1);
    // Nothing was refused for real.
    expect(await refusals('serviceWindow', 'enforce')).toBe(0);
  });

  it('still honours an opt-out', async () => {
    const to = user(603);
    await s.inbound(to, 'STOP');
    const res = await s.send(tpl(to), { 'x-sendgate-category': 'marketing' });
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe(131050);
  });
});
