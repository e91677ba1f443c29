/**
 * The deadline check at ingress counts what is really ahead of a message: an authentication
 * template behind a marketing backlog has only its own priority ahead (not refused for the
 * marketing backlog's sake), and a message to a recipient held by the pair back-off waits for
 * that hold (refused when its deadline ends first).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';

describe('deadline estimates', () => {
  let s: E2eStack;
  beforeAll(async () => {
    // One message per second and a held clock: the backlog stays where the test puts it.
    s = await startE2e({ number: { mps: 1, burst: 1 } });
  });
  afterAll(() => s?.close());

  it('an authentication template is not refused for a marketing backlog it does not wait behind', async () => {
    for (let i = 0; i < 30; i++) {
      expect((await s.send(tpl(user(100 + i)), { 'x-sendgate-category': 'marketing' })).status).toBe(202);
    }
    // 30 s of marketing ahead: a marketing template with a 10 s deadline cannot make it.
    const late = await s.send(tpl(user(200)), { 'x-sendgate-category': 'marketing', 'x-sendgate-deadline': '10' });
    expect(late.status).toBe(429);
    expect(late.json.error.error_data.details).toMatch(/queue needs about/);
    // An authentication template with the same deadline goes before all of them.
    const otp = await s.send(tpl(user(201), 'otp'), { 'x-sendgate-category': 'authentication', 'x-sendgate-deadline': '10' });
    expect(otp.status).toBe(202);
  });
});
