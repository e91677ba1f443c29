/**
 * The 24 h customer service window through the whole gateway: a free-form text is refused until
 * the user writes (a signed webhook from the simulator), allowed then, and refused again 24 h later.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, text, user, type E2eStack } from '../support/e2e-stack.js';

const DAY_MS = 86_400_000;
let s: E2eStack;

beforeAll(async () => {
  s = await startE2e();
});
afterAll(() => s?.close());

describe('service window', () => {
  it('closed → 131047; inbound opens it; 24 h later it is closed again', async () => {
    const to = user(1);
    const refused = await s.send(text(to, 'your order shipped'));
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe(131047);
    expect(refused.json.error.error_data.details).toMatch(/^policy service[- _]?window/i);

    await s.inbound(to, 'where is my order?');
    const allowed = await s.send(text(to, 'your order shipped'));
    expect(allowed.status).toBe(202);
    const sent = await s.waitForState(allowed.json.messages[0].id, ['sent', 'delivered', 'read']);
    expect(sent.wamid).toMatch(/^wamid\./);

    // Another user is not covered by that window.
    expect((await s.send(text(user(2), 'hi'))).status).toBe(422);

    s.clock.advance(DAY_MS - 60_000);
    expect((await s.send(text(to, 'still open'))).status).toBe(202);
    s.clock.advance(60_001);
    const late = await s.send(text(to, 'too late'));
    expect(late.status).toBe(422);
    expect(late.json.error.code).toBe(131047);
  });
});
