/**
 * Recipients waiting for the messaging limit go within the broadcast's deadline or not at all:
 * past it they end `expired` (never sent, never failed by the upstream) and the broadcast ends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';
import { broadcastBody, call, employee, JumpClock, waitForBroadcast } from './support.js';

let s: Stack;
const clock = new JumpClock();

beforeAll(async () => {
  const numbers = [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 400, burst: 40 }];
  s = await startStack({
    numbers,
    sim: { clock },
    start: { clock },
    gateway: { tenants: [{ id: 'acme', apiKeys: [API_KEY], messagingLimit: 250, policy: { optIn: 'off' }, numbers }] },
  });
});
afterAll(() => s?.close());

describe('broadcast deadline', () => {
  it('expires the recipients still waiting for the limit when the deadline passes', async () => {
    const base = s.gateway.url;
    const recipients = Array.from({ length: 260 }, (_, i) => ({ to: employee(i) }));
    const res = await call(base, 'POST', '/v1/broadcasts', broadcastBody(recipients, { deadline: 3600 }));
    expect(res.status).toBe(201);
    expect(res.json.plan).toMatchObject({ sendable_now: 250, waiting_for_limit: 10 });
    await waitForBroadcast(base, res.json.id, (v) => v.counts.sent === 250 && v.counts.waiting_for_limit === 10, 60_000);

    clock.advance(2 * 3_600_000);
    const done = await waitForBroadcast(base, res.json.id, (v) => v.state === 'completed');
    expect(done.counts).toMatchObject({ sent: 250, expired: 10, waiting_for_limit: 0, pending: 0, queued: 0, failed: 0 });
    expect(s.sim.stats().totals.accepted).toBe(250);
  }, 90_000);
});
