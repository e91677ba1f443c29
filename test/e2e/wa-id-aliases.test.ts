/**
 * Recipient identity through the whole gateway: a client sends to a Mexican number as `52…` or a
 * Brazilian mobile with its ninth digit; the simulator answers (and later delivers the user's own
 * messages) under WhatsApp's wa_id (`521…`, no ninth digit), as the Cloud API does. The gateway
 * learns the wa_id from the send's answer, so the service window the user's message opens and the
 * opt-out it records apply to the next sends to the number as the client writes it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, text, tpl, type E2eStack } from '../support/e2e-stack.js';

let s: E2eStack;

beforeAll(async () => {
  s = await startE2e({ tenant: { policy: { optIn: 'off' } } });
});
afterAll(() => s?.close());

const marketing = { 'x-sendgate-category': 'marketing' };

async function learn(to: string, waId: string): Promise<void> {
  const first = await s.send(tpl(to), marketing);
  expect(first.status).toBe(202);
  expect(first.json.contacts[0].wa_id).toBe(to.replace(/[^0-9]/g, '')); // nothing learned yet
  await s.waitForState(first.json.messages[0].id, ['sent', 'delivered', 'read']);
  // The answer taught the wa_id: the next send is keyed by it.
  const second = await s.send(tpl(to, 'second'), marketing);
  expect(second.json.contacts[0]).toEqual({ input: to, wa_id: waId });
  await s.waitForState(second.json.messages[0].id, ['sent', 'delivered', 'read']);
}

describe('wa_id learned from send answers', () => {
  it('Mexico (52 → 521): the window the user opens applies to free-form sends to 52…', async () => {
    const to = '+52 55 1234 5678';
    // Without the alias the window (opened under 521…) would not be found: refused outside the window.
    expect((await s.send(text(to, 'before'))).status).toBe(422);
    await learn(to, '5215512345678');
    await s.inbound('+525512345678', 'hola'); // the simulator delivers it from 5215512345678
    const reply = await s.send(text(to, 'gracias por escribir'));
    expect(reply.status).toBe(202);
    await s.waitForState(reply.json.messages[0].id, ['sent', 'delivered', 'read']);

    // Consent recorded through the API for the number as the client writes it is keyed the same way.
    const recorded = await s.consent({ recipient: to, status: 'opt_out' });
    expect(recorded.json.recipient).toBe('5215512345678');
    expect((await s.send(tpl(to, 'third'), marketing)).status).toBe(422);
  });

  it('Brazil (ninth digit): a STOP from the wa_id suppresses marketing to the number with its ninth digit', async () => {
    const to = '+55 11 98765-4321';
    await learn(to, '551187654321');
    await s.inbound('+5511987654321', 'PARAR');
    const refused = await s.send(tpl(to, 'promo3'), marketing);
    expect(refused.status).toBe(422);
    expect(refused.json.error.error_data.details).toMatch(/opt/i);
  });
});
