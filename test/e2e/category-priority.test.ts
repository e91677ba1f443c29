/**
 * `X-Sendgate-Category` through the whole gateway: on a number that lets one message leave per
 * clock step, authentication, utility and service sends reach the upstream before marketing and
 * uncategorised templates posted earlier, each group in arrival order. The order is the upstream's
 * (the simulator numbers its wamids in the order it accepts sends); the shared ManualClock holds
 * the queue until every send is in, so no wall-clock timing decides the order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER, eventually } from '../support/stack.js';
import { settleLane, startE2e, text, tpl, user, type E2eStack } from '../support/e2e-stack.js';

let s: E2eStack;

beforeAll(async () => {
  // 2 mps × 0.9 headroom, burst 1: one departure per 556 ms of the manual clock, each slot further
  // ahead than the dispatcher's 250 ms lookahead, so nothing is committed before the clock moves.
  s = await startE2e({ number: { mps: 2, burst: 1 } });
  await settleLane(s, s.clock, NUMBER, 1000);
});
afterAll(() => s?.close());

describe('category → priority', () => {
  it('authentication, utility and service go before marketing and uncategorised templates, FIFO inside each', async () => {
    const replyTo = user(903);
    await s.inbound(replyTo, 'hi, a question'); // opens the service window for the free-form reply
    const post = async (name: string, body: object, category?: string): Promise<[string, string]> => {
      const res = await s.send(body, category === undefined ? {} : { 'x-sendgate-category': category });
      expect(res.status, name).toBe(202);
      return [name, res.json.messages[0].id as string];
    };
    const first = await post('first', tpl(user(900), 'opener'), 'utility'); // takes the only token
    await eventually(() => (s.sim.stats().totals.accepted === 1 ? true : undefined));

    const posted = [
      await post('marketing', tpl(user(901), 'promo'), 'marketing'),
      await post('uncategorised', tpl(user(902), 'something')),
      await post('utility', tpl(user(904), 'order_update'), 'utility'),
      await post('authentication', tpl(user(905), 'otp'), 'authentication'),
      await post('service', text(replyTo, 'here is the answer')),
    ];
    // The clock has not moved: the queue is held with all five in it.
    expect(s.sim.stats().totals.accepted).toBe(1);

    for (let sent = 2; sent <= 6; sent++) {
      s.clock.advance(600);
      await eventually(() => (s.sim.stats().totals.accepted >= sent ? true : undefined));
    }
    const wamidOf = async ([name, id]: [string, string]): Promise<[string, string]> => {
      const view = await s.waitForState(id, ['sent', 'delivered', 'read']);
      return [name, view.wamid as string];
    };
    const upstreamOrder = (await Promise.all([first, ...posted].map(wamidOf)))
      .sort((a, b) => (a[1] < b[1] ? -1 : 1))
      .map(([name]) => name);
    expect(upstreamOrder).toEqual(['first', 'utility', 'authentication', 'service', 'marketing', 'uncategorised']);
    expect(s.sim.stats().numbers[NUMBER]!.refused).toEqual({});
  });
});
