/**
 * Tenant webhooks out through the whole gateway: the tenant's endpoint answers 500s, then is gone
 * (connection refused), then comes back on the same port; every event (inbound messages and the
 * statuses of sent messages) is then delivered, each signature valid, in order per recipient.
 *
 * The gateway has no config key for the tenant retry schedule (components.ts uses the default:
 * first retry after 5 s, circuit breaker after 5 failures for 30 s), so the test moves the shared
 * ManualClock past those delays instead of sleeping through them; a new event arriving makes the
 * lane look at its due retries at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, startE2e, text, user, type E2eStack } from '../support/e2e-stack.js';
import { eventually } from '../support/stack.js';
import { TenantReceiver } from '../support/tenant-receiver.js';

const SECRET = 'tenant-hook-secret';
let s: E2eStack;
let receiver: TenantReceiver;

beforeAll(async () => {
  receiver = new TenantReceiver(SECRET, () => Math.floor((s?.clock.nowMs() ?? Date.now()) / 1000));
  await receiver.start();
  s = await startE2e({
    tenant: { webhook: { url: receiver.url, secret: SECRET } },
    sim: { webhook: { statuses: { sentMs: 5, deliveredMs: 30, readMs: 60, readRate: 1, skipDeliveredRate: 0 } } },
  });
});
afterAll(async () => {
  await s?.close();
  await receiver?.stop();
});

const RANK: Record<string, number> = { sent: 1, delivered: 2, read: 3 };
const recipientOf = (e: Record<string, any>): string => String(e.type === 'message.inbound' ? e.from : e.recipient).replace(/^\+/, '');

describe('tenant webhooks', () => {
  it('delivers every event, signed and in order per recipient, after the endpoint recovers', async () => {
    receiver.failing = true;
    const [a, b] = [user(700), user(701)];
    await s.inbound(a, 'hello from a');
    await s.inbound(b, 'hello from b');
    const ids: string[] = [];
    for (const [to, body] of [[a, 'one'], [a, 'two'], [b, 'three']] as const) {
      const res = await s.send(text(to, body));
      expect(res.status).toBe(202);
      ids.push(res.json.messages[0].id);
      // One message's statuses all come before the next message's (the simulator's jitter could cross them).
      await s.waitForState(res.json.messages[0].id, ['read']);
    }
    await eventually(() => (receiver.attempts.length >= 2 ? true : undefined));
    expect(receiver.delivered()).toHaveLength(0);

    // Gone: connection refused. Time passes; new traffic arrives; retries fail.
    await receiver.stop();
    s.clock.advance(60_000);
    const c = user(702);
    await s.inbound(c, 'hello from c');

    // Back after a long while (past every backoff and the breaker's cool-down), answering 200.
    receiver.failing = false;
    await receiver.start();
    s.clock.advance(15 * 60_000);
    const d = user(703);
    await s.inbound(d, 'hello from d');

    // 4 inbound + 3 messages × (sent, delivered, read)
    const expected = 4 + 3 * 3;
    await eventually(() => (new Set(receiver.delivered().map((x) => x.eventId)).size >= expected ? true : undefined), 8000);
    const delivered = receiver.delivered();
    expect(new Set(delivered.map((x) => x.eventId)).size).toBe(expected);
    expect(receiver.attempts.every((x) => x.signatureValid)).toBe(true);
    const refusedByEndpoint = receiver.attempts.filter((x) => x.answered === 500).length;
    expect(refusedByEndpoint).toBeGreaterThan(0);
    const metrics = await s.metrics();
    const events = (result: string) => metricValue(metrics, 'sendgate_tenant_webhook_events_total', { result });
    expect(events('delivered')).toBe(expected);
    expect(events('dead')).toBe(0);
    // Failed attempts include those the closed endpoint never saw (connection refused).
    expect(events('failed_attempt')).toBeGreaterThan(refusedByEndpoint);
    expect(metricValue(metrics, 'sendgate_tenant_webhook_pending')).toBe(0);

    // Every status of every sent message, and every inbound message, arrived.
    for (const id of ids) {
      const statuses = delivered.filter((x) => x.event.type === 'message.status' && x.event.id === id).map((x) => x.event.status);
      expect(new Set(statuses)).toEqual(new Set(['sent', 'delivered', 'read']));
    }
    const inboundFrom = delivered.filter((x) => x.event.type === 'message.inbound').map((x) => recipientOf(x.event));
    expect(new Set(inboundFrom)).toEqual(new Set([a, b, c, d].map((u) => u.slice(1))));

    // In order per recipient: the inbound first, then each message's statuses in their order.
    for (const who of [a, b]) {
      const seq = delivered.filter((x) => recipientOf(x.event) === who.slice(1)).map((x) => x.event);
      expect(seq[0]!.type).toBe('message.inbound');
      const byMessage = new Map<string, number[]>();
      for (const e of seq.slice(1)) byMessage.set(e.id, [...(byMessage.get(e.id) ?? []), RANK[e.status]!]);
      for (const ranks of byMessage.values()) expect(ranks).toEqual([1, 2, 3]);
    }
    // A's first message was read before its second was sent: all its statuses come first.
    const aStatuses = delivered.filter((x) => x.event.type === 'message.status' && recipientOf(x.event) === a.slice(1));
    expect(aStatuses.map((x) => x.event.id)).toEqual([ids[0], ids[0], ids[0], ids[1], ids[1], ids[1]]);
  });
});
