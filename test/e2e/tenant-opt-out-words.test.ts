/**
 * A tenant's own opt-out words (`policy.optOutWords`) decide the `optOut` flag of its inbound
 * tenant webhooks, as they decide the opt-out the policy records: the two never disagree.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { eventually } from '../support/stack.js';
import { TenantReceiver } from '../support/tenant-receiver.js';

const SECRET = 'opt-out-words-secret';
let s: E2eStack;
let receiver: TenantReceiver;

beforeAll(async () => {
  receiver = new TenantReceiver(SECRET, () => Math.floor((s?.clock.nowMs() ?? Date.now()) / 1000));
  await receiver.start();
  s = await startE2e({ tenant: { webhook: { url: receiver.url, secret: SECRET }, policy: { optIn: 'off', optOutWords: ['BASTA YA'] } } });
});
afterAll(async () => {
  await s?.close();
  await receiver?.stop();
});

const inboundFrom = (from: string) => receiver.delivered().find((e) => e.event.type === 'message.inbound' && e.event.from === from.replace(/^\+/, ''));

describe("the tenant's opt-out words in inbound webhooks", () => {
  it("flags the tenant's own word and not a default one it replaced; the policy agrees; signatures cover the event id", async () => {
    const [own, other] = [user(810), user(811)];
    await s.inbound(own, 'basta ya');
    await s.inbound(other, 'STOP');
    const a = await eventually(() => inboundFrom(own));
    const b = await eventually(() => inboundFrom(other));
    expect(a.event.optOut).toBe(true);
    expect(b.event.optOut).toBe(false);
    expect(a.signatureValid && b.signatureValid).toBe(true);
    expect((await s.send(tpl(own), { 'x-sendgate-category': 'marketing' })).status).toBe(422);
    expect((await s.send(tpl(other), { 'x-sendgate-category': 'marketing' })).status).toBe(202);
  });
});
