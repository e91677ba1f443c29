/**
 * The case broadcasts exist for: 3,000 employees, a portfolio with a 2,000 messaging limit, 10
 * employees opted out. Real gateway and simulator over HTTP; the simulator enforces the number's
 * rate, so a departure too fast would show as a refusal there. About 8 s on an idle machine (2,000
 * sends at 400/s, then the 990); the waits allow for a machine shared with other work (at a load of
 * 19 on 2 cores the gateway delivered about 50/s).
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue } from '../support/e2e-stack.js';
import { API_KEY, NUMBER, startStack, TOKEN, type Stack } from '../support/stack.js';
import { broadcastBody, call, employee, JumpClock, waitForBroadcast } from './support.js';

const MPS = 400;
const BURST = 40;
const EMPLOYEES = 3000;
const OPTED_OUT = 10;
const DAY_MS = 86_400_000;

let s: Stack;
const clock = new JumpClock();

beforeAll(async () => {
  const numbers = [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: MPS, burst: BURST }];
  s = await startStack({
    numbers,
    sim: { clock, limits: { mps: MPS, burst: BURST, pairIntervalMs: 0 } },
    start: { clock },
    gateway: { tenants: [{ id: 'acme', apiKeys: [API_KEY], messagingLimit: 2000, policy: { optIn: 'off' }, numbers }] },
  });
});
afterAll(() => s?.close());

const everyone = Array.from({ length: EMPLOYEES }, (_, i) => ({ to: employee(i) }));

describe('broadcast to 3,000 employees with a 2,000 messaging limit', () => {
  it('plans, sends 2,000 at the number\'s pace, holds 990 until the window frees, and a repeat is the same broadcast', async () => {
    const base = s.gateway.url;
    for (let i = 0; i < OPTED_OUT; i++) {
      const res = await call(base, 'POST', '/v1/consent', { recipient: employee(i * 7), status: 'opt_out', source: 'hr-portal' });
      expect(res.status).toBe(200);
    }

    const dry = await call(base, 'POST', '/v1/broadcasts', broadcastBody(everyone, { dry_run: true }));
    expect(dry.status).toBe(200);
    expect(dry.json.id).toBeNull();
    expect(dry.json.plan).toMatchObject({
      recipients: 3000, excluded: { opted_out: 10, invalid: 0, duplicate: 0 }, new_unique_recipients: 2990,
      messaging_limit_free: 2000, sendable_now: 2000, waiting_for_limit: 990,
    });
    // The 990 wait for slots that free 24 h after the first 2,000 leave.
    expect(dry.json.plan.eta_seconds).toBeGreaterThan(DAY_MS / 1000);
    expect(Date.parse(dry.json.plan.finish_at)).toBeGreaterThan(clock.nowMs() + DAY_MS);
    // A dry run stores and sends nothing.
    await new Promise((r) => setTimeout(r, 200));
    expect(s.sim.stats().totals.accepted).toBe(0);

    const key = { 'idempotency-key': 'all-hands-2026-11' };
    const created = await call(base, 'POST', '/v1/broadcasts', broadcastBody(everyone), key);
    expect(created.status).toBe(201);
    expect(created.json.id).toMatch(/^bc_/);
    expect(created.json.plan).toMatchObject({ sendable_now: 2000, waiting_for_limit: 990 });
    const id = created.json.id as string;

    // Transactional traffic on the same number keeps going while the broadcast runs.
    const reply = await s.send({ messaging_product: 'whatsapp', to: '+16505550100', type: 'text', text: { body: 'your code is 1234' } }, { prefer: 'wait=10' });
    expect(reply.status).toBe(200);
    const during = await call(base, 'GET', `/v1/broadcasts/${id}`);
    expect(during.json.counts.sent).toBeLessThan(2000);

    const repeat = await call(base, 'POST', '/v1/broadcasts', broadcastBody(everyone), key);
    expect(repeat.status).toBe(201);
    expect(repeat.json.id).toBe(id);
    const conflict = await call(base, 'POST', '/v1/broadcasts', broadcastBody(everyone.slice(1)), key);
    expect(conflict.status).toBe(409);

    const held = await waitForBroadcast(base, id, (v) => v.counts.sent === 2000 && v.counts.waiting_for_limit === 990, 90_000);
    expect(held).toMatchObject({ state: 'running', counts: { queued: 0, failed: 0, expired: 0, rejected: 0, pending: 0 } });
    // Nothing more leaves while the limit is full.
    await new Promise((r) => setTimeout(r, 500));
    const stats = s.sim.stats();
    expect(stats.totals.accepted).toBe(2001); // the 2,000 and the transactional reply
    expect(stats.totals.refused).toBe(0);
    expect(stats.numbers[NUMBER]!.maxPerSec).toBeLessThanOrEqual(MPS + BURST);
    expect((await call(base, 'GET', `/v1/broadcasts/${id}`)).json.counts.waiting_for_limit).toBe(990);
    const metrics = await (await request(`${base}/metrics`)).body.text();
    expect(metricValue(metrics, 'sendgate_broadcast_recipients', { tenant: 'acme', status: 'waiting_for_limit' })).toBe(990);
    expect(metricValue(metrics, 'sendgate_broadcast_recipients', { tenant: 'acme', status: 'sent' })).toBe(2000);
    expect(metricValue(metrics, 'sendgate_broadcasts_active', { tenant: 'acme' })).toBe(1);

    // A day later the first slots free: the 990 go, and the broadcast ends.
    clock.advance(DAY_MS + 1000);
    const done = await waitForBroadcast(base, id, (v) => v.state === 'completed', 60_000);
    expect(done.counts).toMatchObject({ sent: 2990, waiting_for_limit: 0, pending: 0, queued: 0, failed: 0 });
    const after = s.sim.stats();
    expect(after.totals.accepted).toBe(2991);
    expect(after.totals.refused).toBe(0);
    // Each employee heard once; the opted-out ones not at all.
    const pairs = after.pairs[NUMBER]!;
    for (let i = 0; i < EMPLOYEES; i++) {
      const heard = pairs[employee(i).slice(1)]?.accepted ?? 0;
      expect(heard).toBe(i % 7 === 0 && i / 7 < OPTED_OUT ? 0 : 1);
    }
  }, 180_000);
});
