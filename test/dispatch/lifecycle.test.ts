/**
 * The dispatcher's API around the send path: boot recovery, duplicates, priority, live limits,
 * pause and waits, unknown numbers, and a graceful close that leaves the rest queued.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { MessageRecord } from '../../src/store/types.js';
import { makeRig, states, until, type Rig } from './harness.js';

describe('dispatcher lifecycle', () => {
  let sim: Simulator;
  let rig: Rig;
  const ids = ['4001', '4002', '4003', '4004', '4005'];

  beforeAll(async () => {
    sim = await startSimulator({ limits: { mps: 1000, burst: 1000, pairIntervalMs: 0 }, numbers: ids.map((phoneNumberId) => ({ phoneNumberId, accessToken: `tok-${phoneNumberId}` })) });
    rig = await makeRig({
      baseUrl: sim.url,
      numbers: {
        '4001': { tenantId: 'acme', accessToken: 'tok-4001', mps: 100, burst: 100 },
        '4002': { tenantId: 'acme', accessToken: 'tok-4002', mps: 5, burst: 1 },
        '4003': { tenantId: 'acme', accessToken: 'tok-4003', mps: 20, burst: 20 },
        '4004': { tenantId: 'acme', accessToken: 'tok-4004', mps: 100, burst: 100 },
        '4005': { tenantId: 'acme', accessToken: 'tok-4005', mps: 100, burst: 100 },
      },
      extra: { pausedSweepMs: 100 },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await sim?.close();
  });

  const sentTo = (id: string) => sim.stats().numbers[id]?.accepted ?? 0;

  it('recovers unfinished records at boot: queued, sending (sent again), and not before notBeforeMs', async () => {
    const queued = await rig.enqueue({ phoneNumberId: '4001' });
    const midSend = await rig.enqueue({ phoneNumberId: '4001' });
    const later = await rig.enqueue({ phoneNumberId: '4001' });
    await rig.store.transition(midSend.id, { state: 'sending', attempts: 1, atMs: Date.now() });
    const notBeforeMs = Date.now() + 300;
    await rig.store.transition(later.id, { state: 'queued', notBeforeMs, lastError: null, atMs: Date.now() });
    const mine = new Set([queued.id, midSend.id, later.id]);
    const unfinished = (await rig.store.unfinished()).filter((r) => mine.has(r.id));
    expect(unfinished.map((r) => r.state).sort()).toEqual(['queued', 'queued', 'sending']);

    rig.dispatcher.recover(unfinished);
    rig.dispatcher.recover(unfinished); // twice: ignored
    rig.dispatcher.submit(unfinished[0]!);
    await until('all sent', async () => (await states(rig.store, [queued, midSend, later])).every((r) => r.state === 'sent'));
    const [, m] = await states(rig.store, [queued, midSend, later]);
    expect(m!.attempts).toBe(2);
    const laterSent = rig.events.find((e) => e.type === 'attempt' && e.id === later.id)!;
    expect(laterSent.atMs).toBeGreaterThanOrEqual(notBeforeMs);
    expect(sentTo('4001')).toBe(3);
  });

  it('sends priority 0 (authentication/utility) before priority 1, FIFO inside each', async () => {
    rig.dispatcher.pause('4002');
    const order: MessageRecord[] = [];
    for (const priority of [1, 0, 1, 0, 1, 0] as const) order.push(await rig.enqueue({ phoneNumberId: '4002', priority }));
    for (const r of order) rig.dispatcher.submit(r);
    expect(rig.dispatcher.snapshot().find((l) => l.phoneNumberId === '4002')).toMatchObject({ depth: 6, paused: true, inFlight: 0 });
    rig.dispatcher.resume('4002');
    await until('all sent', async () => (await states(rig.store, order)).every((r) => r.state === 'sent'));
    const sentOrder = rig.events.filter((e) => e.type === 'attempt' && e.phoneNumberId === '4002').map((e) => e.id);
    const expected = [...order.filter((r) => r.priority === 0), ...order.filter((r) => r.priority === 1)].map((r) => r.id);
    expect(sentOrder).toEqual(expected);
  });

  it('setLimits applies to the next decision; estimateWaitMs follows depth and rate', async () => {
    rig.dispatcher.pause('4003');
    const records: MessageRecord[] = [];
    for (let i = 0; i < 18; i++) records.push(await rig.enqueue({ phoneNumberId: '4003' }));
    for (const r of records) rig.dispatcher.submit(r);
    // 18 waiting at 20 mps × 0.9 = 18 mps: about one second (Infinity while paused)
    expect(rig.dispatcher.estimateWaitMs('4003')).toBe(Number.POSITIVE_INFINITY);
    rig.dispatcher.setLimits('4003', { mps: 10, headroom: 0.5 });
    const lane = () => rig.dispatcher.snapshot().find((l) => l.phoneNumberId === '4003')!;
    expect(lane()).toMatchObject({ effectiveMps: 5, configuredMps: 10, paused: true, depth: 18 });
    rig.dispatcher.setLimits('4003', { mps: 40, headroom: 1 });
    rig.dispatcher.resume('4003');
    expect(lane().effectiveMps).toBe(40);
    await until('all sent', async () => (await states(rig.store, records)).every((r) => r.state === 'sent'));
    expect(rig.dispatcher.estimateWaitMs('4003')).toBe(0);
    rig.dispatcher.pause('4003');
    for (let i = 0; i < 20; i++) rig.dispatcher.submit(await rig.enqueue({ phoneNumberId: '4003' }));
    rig.dispatcher.resume('4003');
    rig.dispatcher.pause('4003');
    const view = lane();
    expect(rig.dispatcher.estimateWaitMs('4003')).toBe(Number.POSITIVE_INFINITY);
    rig.dispatcher.resume('4003');
    const estimate = rig.dispatcher.estimateWaitMs('4003');
    expect(estimate).toBeCloseTo(((view.depth + view.inFlight) / 40) * 1000, 0);
    expect(estimate).toBeGreaterThan(0);
  });

  it('waitForOutcome resolves null on timeout; an unknown number fails the message', async () => {
    rig.dispatcher.pause('4004');
    const held = await rig.enqueue({ phoneNumberId: '4004' });
    rig.dispatcher.submit(held);
    expect(await rig.dispatcher.waitForOutcome(held.id, 50)).toBeNull();
    rig.dispatcher.resume('4004');
    expect(await rig.dispatcher.waitForOutcome(held.id, 5000)).toMatchObject({ state: 'sent', status: 200 });
    // after the fact: remembered
    expect(await rig.dispatcher.waitForOutcome(held.id, 0)).toMatchObject({ state: 'sent' });

    const orphan = await rig.enqueue({ phoneNumberId: '4999', tenantId: 'acme' });
    rig.dispatcher.submit(orphan);
    expect(await rig.dispatcher.waitForOutcome(orphan.id, 5000)).toMatchObject({ state: 'failed', error: { code: 100 } });
    expect(sentTo('4999')).toBe(0);
  });

  it('a paused number still expires its messages past their deadline', async () => {
    rig.dispatcher.pause('4005');
    const soon = await rig.enqueue({ phoneNumberId: '4005', deadlineAtMs: Date.now() + 150 });
    const later = await rig.enqueue({ phoneNumberId: '4005' });
    rig.dispatcher.submit(soon);
    rig.dispatcher.submit(later);
    expect(await rig.dispatcher.waitForOutcome(soon.id, 3000)).toMatchObject({ state: 'expired', error: { code: 900429 } });
    const [s1, s2] = await states(rig.store, [soon, later]);
    expect(s1!.state).toBe('expired');
    expect(s2!.state).toBe('queued');
    expect(rig.dispatcher.snapshot().find((l) => l.phoneNumberId === '4005')).toMatchObject({ depth: 1, paused: true });
    rig.dispatcher.resume('4005');
    await until('sent', async () => (await states(rig.store, [later]))[0]!.state === 'sent');
    expect(sentTo('4005')).toBe(1);
  });

  it('close() lets in-flight sends finish and leaves the rest queued (not sending) in the store', async () => {
    const records: MessageRecord[] = [];
    for (let i = 0; i < 20; i++) records.push(await rig.enqueue({ phoneNumberId: '4002' }));
    const before = sentTo('4002');
    for (const r of records) rig.dispatcher.submit(r);
    await new Promise((r) => setTimeout(r, 450));
    await rig.dispatcher.close();
    const sent = sentTo('4002') - before;
    await new Promise((r) => setTimeout(r, 300));
    expect(sentTo('4002') - before).toBe(sent); // nothing leaves after close
    const final = await states(rig.store, records);
    const byState = (s: string) => final.filter((r) => r.state === s).length;
    expect(byState('sent')).toBe(sent);
    expect(sent).toBeGreaterThan(0);
    expect(byState('queued')).toBe(20 - sent);
    expect(byState('sending')).toBe(0);
    rig.dispatcher.submit(records.at(-1)!); // ignored after close
    await new Promise((r) => setTimeout(r, 100));
    expect(sentTo('4002') - before).toBe(sent);
  });
});
