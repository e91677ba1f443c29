/**
 * STOP while queued: a marketing template accepted before the user opted out is checked again
 * right before it leaves and ends `rejected` with the opt-out's code, never reaching the upstream;
 * a utility template to the same user, and marketing to another user, still go.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER } from '../support/stack.js';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';

describe('departure-time suppression', () => {
  let s: E2eStack;
  beforeAll(async () => {
    // One message per second and a held clock: whatever is accepted waits in the lane until the test moves time.
    s = await startE2e({ number: { mps: 1, burst: 1 } });
  });
  afterAll(() => s?.close());

  it('a STOP while a marketing template waits: rejected with 131050 at departure; utility and other users still sent', async () => {
    const stopper = user(40);
    const other = user(41);
    const filler = await s.send(tpl(user(42), 'order_update'), { 'x-sendgate-category': 'utility' });
    expect(filler.status).toBe(202);
    const marketing = await s.send(tpl(stopper), { 'x-sendgate-category': 'marketing' });
    const utility = await s.send(tpl(stopper, 'order_update'), { 'x-sendgate-category': 'utility' });
    const otherMarketing = await s.send(tpl(other), { 'x-sendgate-category': 'marketing' });
    for (const r of [marketing, utility, otherMarketing]) expect(r.status).toBe(202);

    // Still queued behind the pacing: the user writes STOP.
    expect((await s.get(`/v1/messages/${marketing.json.messages[0].id}`)).json.state).toBe('queued');
    await s.inbound(stopper, 'STOP');

    // One token a second on the held clock; the dispatcher's one Node timer still waits out its
    // real delay (about a second) before it looks at the clock again.
    const ids = [marketing, utility, otherMarketing].map((r) => r.json.messages[0].id as string);
    for (let i = 0; i < 8; i++) {
      const states = await Promise.all(ids.map(async (id) => (await s.get(`/v1/messages/${id}`)).json.state as string));
      if (states.every((st) => st !== 'queued' && st !== 'sending')) break;
      s.clock.advance(1000);
      await new Promise((r) => setTimeout(r, 1100));
    }
    const rejected = await s.waitForState(marketing.json.messages[0].id, ['rejected', 'sent', 'delivered', 'read']);
    expect(rejected.state).toBe('rejected');
    expect(rejected.last_error.code).toBe(131050);
    await s.waitForState(utility.json.messages[0].id, ['sent', 'delivered', 'read']);
    await s.waitForState(otherMarketing.json.messages[0].id, ['sent', 'delivered', 'read']);

    // The upstream never saw the marketing template to the user who stopped: only the utility one.
    const pairs = s.sim.stats().pairs[NUMBER]!;
    expect(pairs[stopper.slice(1)]!.accepted).toBe(1);
    expect(pairs[other.slice(1)]!.accepted).toBe(1);
  });
});
