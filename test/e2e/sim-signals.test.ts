/**
 * The simulator emits Meta's account signals on demand (Simulator.signal(), signed like its other
 * webhooks), and the gateway acts on them end to end: capability raises the messaging limit, a
 * throughput upgrade raises the mps of the number named by its display number, a restriction
 * pauses the tenant, a user's marketing stop records an opt-out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricValue, startE2e, tpl, user, type E2eStack } from '../support/e2e-stack.js';
import { NUMBER } from '../support/stack.js';

const WABA = '100000000000001'; // the simulator's default WABA id
let s: E2eStack;

beforeAll(async () => {
  s = await startE2e({ tenant: { wabaIds: [WABA], messagingLimit: 250, policy: { optIn: 'off' } }, number: { mps: 80, burst: 80 } });
});
afterAll(() => s?.close());

const lane = () => s.gateway.dispatcher.snapshot().find((l) => l.phoneNumberId === NUMBER);
const marketing = { 'x-sendgate-category': 'marketing' };

describe('account signals from the simulator', () => {
  it('capability, quality, user preference and restriction reach the gateway and change what it does', async () => {
    s.sim.signal({ kind: 'capability', phoneNumberId: NUMBER, maxDailyConversationsPerBusiness: -1, legacy: true });
    await s.flushStatuses();
    expect(metricValue(await s.metrics(), 'sendgate_meta_signals_total', { field: 'business_capability_update', outcome: 'applied' })).toBe(1);

    // The number's display number is learned from the user's message, then names it in the quality update.
    await s.inbound(user(900), 'hi');
    const first = await s.send(tpl(user(901)), marketing);
    expect(first.status).toBe(202);
    expect(lane()?.configuredMps).toBe(80);
    s.sim.signal({ kind: 'quality', phoneNumberId: NUMBER, event: 'THROUGHPUT_UPGRADE', currentLimit: 'TIER_UNLIMITED' });
    await s.flushStatuses();
    expect(lane()?.configuredMps).toBe(1000);

    s.sim.signal({ kind: 'preference', phoneNumberId: NUMBER, waId: user(902).slice(1), value: 'stop' });
    await s.flushStatuses();
    expect((await s.send(tpl(user(902)), marketing)).status).toBe(422);

    s.sim.signal({ kind: 'restriction', phoneNumberId: NUMBER, restrictions: [{ type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration: '2030-01-01T00:00:00+0000' }] });
    await s.flushStatuses();
    expect(lane()?.paused).toBe(true);
  });

  it('POST /__sim/signal does the same for a running `sendgate simulate`, and refuses a malformed signal', async () => {
    const post = (body: unknown) => fetch(`${s.sim.url}/__sim/signal`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ kind: 'capability', phoneNumberId: NUMBER, maxDailyConversationsPerBusiness: 10000 })).status).toBe(200);
    await s.flushStatuses();
    expect(metricValue(await s.metrics(), 'sendgate_meta_signals_total', { field: 'business_capability_update', outcome: 'applied' })).toBe(2);
    expect((await post({ kind: 'capability', phoneNumberId: NUMBER })).status).toBe(400);
    expect((await post({ kind: 'quality', phoneNumberId: '999', event: 'FLAGGED' })).status).toBe(400);
  });
});
