/**
 * A cancel's rejected messages end like any unsent message (gateway/message-ended.ts): their
 * messaging-limit slots are given back and the tenant hears of each, with the cancel's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';
import { TenantReceiver } from '../support/tenant-receiver.js';
import { broadcastBody, call, employee, waitForBroadcast } from './support.js';

const LIMIT = 250;
const RECIPIENTS = 200;
let s: Stack;
const hooks = new TenantReceiver('whsec-cancel-test', () => Math.floor(Date.now() / 1000));

beforeAll(async () => {
  await hooks.start();
  // Slow enough that almost every message is still queued at the cancel.
  const numbers = [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 2, burst: 1 }];
  s = await startStack({
    numbers,
    gateway: { tenants: [{ id: 'acme', apiKeys: [API_KEY], messagingLimit: LIMIT, policy: { optIn: 'off' }, numbers, webhook: { url: hooks.url, secret: 'whsec-cancel-test' } }] },
  });
});
afterAll(async () => {
  await s?.close();
  await hooks.stop();
});

describe('a cancelled broadcast', () => {
  it('gives back the messaging-limit slots of the messages it rejected, and tells the tenant of each', async () => {
    const base = s.gateway.url;
    const recipients = Array.from({ length: RECIPIENTS }, (_, i) => ({ to: employee(7000 + i) }));
    const res = await call(base, 'POST', '/v1/broadcasts', broadcastBody(recipients, { category: 'utility' }));
    expect(res.status).toBe(201);
    await waitForBroadcast(base, res.json.id, (v) => v.counts.queued > 0);
    const cancelled = await call(base, 'POST', `/v1/broadcasts/${res.json.id}/cancel`);
    expect(cancelled.status).toBe(200);
    const after = await waitForBroadcast(base, res.json.id, (v) => v.counts.queued === 0);
    expect(after.counts.sent + after.counts.cancelled).toBe(RECIPIENTS);

    // Only what was sent still holds a slot: a dry run for a new recipient sees the rest free.
    const plan = await call(base, 'POST', '/v1/broadcasts', { ...broadcastBody([{ to: employee(9000) }], { category: 'utility' }), dry_run: true });
    expect(plan.status).toBe(200);
    expect(plan.json.plan.messaging_limit_free, JSON.stringify({ counts: after.counts, plan: plan.json.plan })).toBe(LIMIT - after.counts.sent);

    // An event for each message it rejected, once, with the cancel's code.
    const rejected = () => hooks.delivered().filter((a) => a.event.type === 'message.status' && a.event.status === 'rejected');
    const deadline = Date.now() + 10_000;
    while (rejected().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 500));
    const events = rejected();
    expect(events.length).toBeGreaterThan(0);
    expect(new Set(events.map((a) => a.event.id)).size, JSON.stringify(events.slice(0, 4).map((a) => [a.eventId, a.event]))).toBe(events.length);
    expect(events.every((a) => a.signatureValid && a.event.errors?.[0]?.code === 900411)).toBe(true);
  });
});
