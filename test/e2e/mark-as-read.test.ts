/**
 * Mark-as-read over HTTP (`{"status":"read","message_id":…}` on the messages endpoint), through the
 * whole gateway with Meta webhooks on: answered in Meta's `{"success":true}` shape, delivered to the
 * upstream as a read receipt, and never taken for a message to someone: no service window needed,
 * no messaging-limit slot spent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NUMBER } from '../support/stack.js';
import { settleLane, startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';

let s: E2eStack;

beforeAll(async () => {
  s = await startE2e();
  await settleLane(s, s.clock, NUMBER, 2000);
});
afterAll(() => s?.close());

const markRead = (messageId: string) => ({ messaging_product: 'whatsapp', status: 'read', message_id: messageId });
const markedRead = () => s.sim.stats().numbers[NUMBER]!.markedRead;

describe('mark-as-read', () => {
  it('is accepted in the success shape and reaches the upstream as a read receipt', async () => {
    const wamid = s.sim.inbound({ phoneNumberId: NUMBER, from: user(950), text: 'hello?' });
    await s.sim.flushWebhooks();
    const before = markedRead();

    const res = await s.send(markRead(wamid));
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    expect(res.json).toEqual({ success: true, messages: [{ id, message_status: 'accepted' }] });
    const view = await s.waitForState(id, ['sent']);
    expect(view).toMatchObject({ to: '', attempts: 1 });
    expect(markedRead()).toBe(before + 1);

    // With Prefer: wait, the upstream's own answer, with the gateway id beside it.
    const waited = await s.send(markRead(wamid), { prefer: 'wait=5' });
    expect(waited.status).toBe(200);
    expect(waited.json).toEqual({ success: true, gateway_id: waited.headers['x-sendgate-message-id'] });
    expect(markedRead()).toBe(before + 2);
  });

  it('needs no open service window and spends no messaging-limit slot', async () => {
    // A read receipt for a message of a user whose window is long closed (or never opened).
    s.gateway.policy.setMessagingLimit('acme', 1);
    for (let i = 0; i < 3; i++) {
      const res = await s.send(markRead(`wamid.HBgLMTY1MDU1NTAwOTk${i}`));
      expect(res.status).toBe(202);
      await s.waitForState(res.json.messages[0].id, ['sent']);
    }
    // The one slot is still free: a template to a new recipient takes it, the next finds none.
    expect((await s.send(tpl(user(951), 'order_update'), { 'x-sendgate-category': 'utility' })).status).toBe(202);
    const over = await s.send(tpl(user(952), 'order_update'), { 'x-sendgate-category': 'utility' });
    expect(over.status).toBe(429);
    expect(over.json.error.error_data.details).toMatch(/^policy messagingLimit/);
  });

  it('without message_id is refused like Meta would, nothing sent', async () => {
    const before = markedRead();
    const res = await s.send({ messaging_product: 'whatsapp', status: 'read' });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe(100);
    expect(markedRead()).toBe(before);
  });
});
