/**
 * Messaging limit 250 through the whole gateway: 250 new recipients of business-initiated
 * templates are admitted, the 251st is refused with 429 + Retry-After and never reaches the
 * upstream; a send the upstream fails (non-retryable 131045) gives its slot back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { eventually, NUMBER } from '../support/stack.js';

let s: E2eStack;

beforeAll(async () => {
  s = await startE2e({ tenant: { messagingLimit: 250, policy: { optIn: 'off' } } });
});
afterAll(() => s?.close());

const marketing = { 'x-sendgate-category': 'marketing' };
describe('messaging limit', () => {
  it('admits 250 unique recipients, refuses the 251st, and a failed send frees its slot', async () => {
    for (let base = 0; base < 249; base += 25) {
      const batch = [];
      for (let i = base; i < Math.min(base + 25, 249); i++) batch.push(s.send(tpl(user(i)), marketing));
      for (const res of await Promise.all(batch)) expect(res.status).toBe(202);
    }
    await eventually(() => (s.sim.stats().totals.accepted === 249 ? true : undefined));

    // Recipient 250 is admitted; the upstream holds it 400 ms and then refuses it for good
    // (131045), so its slot is taken while the 251st asks, and comes back after.
    s.sim.setFaults({ latency: { kind: 'fixed', ms: 400 }, errorRates: { '131045': 1 } }, NUMBER);
    const last = await s.send(tpl(user(249)), marketing);
    expect(last.status).toBe(202);
    const over = await s.send(tpl(user(250)), marketing);
    expect(over.status).toBe(429);
    expect(over.json.error.code).toBe(900430);
    expect(over.json.error.error_data.details).toMatch(/^policy messagingLimit:/);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    const failed = await s.waitForState(last.json.messages[0].id, ['failed']);
    expect(failed.last_error.code).toBe(131045);
    s.sim.setFaults(undefined, NUMBER);

    const next = await eventually(async () => {
      const res = await s.send(tpl(user(251)), marketing);
      return res.status === 202 ? res : undefined;
    }, 3000);
    await s.waitForState(next.json.messages[0].id, ['sent', 'delivered', 'read']);
    // A recipient already reached in the last 24 h is free.
    const again = await s.send(tpl(user(3), 'second_promo'), marketing);
    expect(again.status).toBe(202);
    await s.waitForState(again.json.messages[0].id, ['sent', 'delivered', 'read']);
    const full = await s.send(tpl(user(252)), marketing);
    expect(full.status).toBe(429);
    // 249 + the second promo + recipient 251; the refused ones never reached the simulator.
    expect(s.sim.stats().totals.accepted).toBe(251);

    // Once that user writes, a template to them is a reply inside the window: not limited.
    await s.inbound(user(252), 'hello?');
    const reply = await s.send(tpl(user(252)), marketing);
    expect(reply.status).toBe(202);
    await s.waitForState(reply.json.messages[0].id, ['sent', 'delivered', 'read']);
    expect((await s.send(tpl(user(253)), marketing)).status).toBe(429);
  });
});
