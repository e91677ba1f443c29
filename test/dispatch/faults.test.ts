/**
 * Upstream faults, injected by the simulator: what is retried gets delivered, what is final fails
 * with the upstream error kept, 131056 parks only that recipient, 131048 and 190 pause, and a message
 * past its deadline is never sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { MessageRecord } from '../../src/store/types.js';
import { makeRig, states, until, type Rig } from './harness.js';

const TOKEN = (id: string) => `tok-${id}`;

describe('upstream faults', () => {
  let sim: Simulator;
  let rig: Rig;

  beforeAll(async () => {
    sim = await startSimulator({
      limits: { mps: 500, burst: 500, pairIntervalMs: 0 },
      numbers: [
        { phoneNumberId: '3001', accessToken: TOKEN('3001'), faults: { errorRates: { '131000': 0.1, '131016': 0.1 }, timeoutRate: 0.05, resetRate: 0.05 } },
        { phoneNumberId: '3002', accessToken: TOKEN('3002'), mps: 20, burst: 5 },
        { phoneNumberId: '3003', accessToken: TOKEN('3003'), faults: { errorRates: { '131026': 1 } } },
        { phoneNumberId: '3004', accessToken: TOKEN('3004'), pairIntervalMs: 800, pairBurst: 1 },
        { phoneNumberId: '3005', accessToken: TOKEN('3005') },
        { phoneNumberId: '3006', accessToken: TOKEN('3006') },
        { phoneNumberId: '3007', accessToken: TOKEN('3007') },
        { phoneNumberId: '3008', accessToken: TOKEN('3008') },
        { phoneNumberId: '3009', accessToken: TOKEN('3009') },
        { phoneNumberId: '3010', accessToken: TOKEN('3010'), faults: { errorRates: { '131000': 1 } } },
      ],
    });
    const info = (mps: number, tenantId = 'acme', burst = mps) => ({ tenantId, accessToken: TOKEN(''), mps, burst });
    const numbers = {
      '3001': info(200),
      // the gateway believes 60 mps; the upstream allows 20: it must find out from 130429
      '3002': info(60),
      '3003': info(200),
      '3004': info(100),
      '3005': info(100),
      '3006': info(100, 'beta'),
      '3007': info(100, 'beta'),
      '3008': info(2, 'acme', 1),
      '3009': info(100),
      '3010': info(100),
    };
    for (const [id, n] of Object.entries(numbers)) n.accessToken = TOKEN(id);
    numbers['3006'].accessToken = 'expired-token';
    rig = await makeRig({ baseUrl: sim.url, numbers, timeoutMs: 1000, dispatch: { maxAttempts: 8, retryBaseMs: 20, retryMaxMs: 200 } });
  });
  afterAll(async () => {
    await rig?.close();
    await sim?.close();
  });

  const submitAll = async (phoneNumberId: string, count: number, extra: Partial<MessageRecord> = {}): Promise<MessageRecord[]> => {
    const out: MessageRecord[] = [];
    for (let i = 0; i < count; i++) out.push(await rig.enqueue({ phoneNumberId, ...extra }));
    for (const r of out) rig.dispatcher.submit(r);
    return out;
  };
  const allFinal = (records: MessageRecord[], state = 'sent') => async () =>
    (await states(rig.store, records)).every((r) => r.state === state);

  it('5xx, timeouts and resets are retried until delivered', async () => {
    const records = await submitAll('3001', 60);
    const waited = rig.dispatcher.waitForOutcome(records[0]!.id, 10_000);
    await until('all sent', allFinal(records), 15_000);
    const n = sim.stats().numbers['3001']!;
    // At-least-once: a duplicate is only possible where the client gave up on an answer (timeout).
    const networkAttempts = rig.events.filter((e) => e.type === 'attempt' && e.phoneNumberId === '3001' && e.outcome === 'network').length;
    expect(n.accepted).toBeGreaterThanOrEqual(60);
    expect(n.accepted - 60).toBeLessThanOrEqual(networkAttempts - n.resets - n.timeouts);
    expect(Object.values(sim.stats().pairs['3001']!).every((p) => p.accepted >= 1)).toBe(true);
    expect(n.timeouts).toBeGreaterThan(0);
    expect(n.resets).toBeGreaterThan(0);
    expect((n.refused['131000'] ?? 0) + (n.refused['131016'] ?? 0)).toBeGreaterThan(0);
    const final = await states(rig.store, records);
    expect(final.some((r) => r.attempts > 1)).toBe(true);
    expect(new Set(final.map((r) => r.wamid)).size).toBe(60);
    const outcome = await waited;
    expect(outcome).toMatchObject({ id: records[0]!.id, state: 'sent', status: 200, wamid: final[0]!.wamid });
    expect(JSON.parse(outcome!.bodyText).messages[0].id).toBe(final[0]!.wamid);
  });

  it('130429 slows the number (AIMD) and every message still gets through', async () => {
    const records = await submitAll('3002', 40);
    await until('all sent', allFinal(records), 20_000);
    const n = sim.stats().numbers['3002']!;
    expect(n.accepted).toBe(40);
    expect(n.refused['130429']).toBeGreaterThan(0);
    const lane = rig.dispatcher.snapshot().find((l) => l.phoneNumberId === '3002')!;
    expect(lane.configuredMps).toBe(60);
    expect(lane.effectiveMps).toBeLessThan(60 * 0.9);
  });

  it('a non-retryable code fails the message once, keeping the upstream error', async () => {
    const records = await submitAll('3003', 5);
    const outcome = await rig.dispatcher.waitForOutcome(records[4]!.id, 5000);
    await until('all failed', allFinal(records, 'failed'));
    expect(outcome).toMatchObject({ state: 'failed', status: 400, wamid: null, error: { code: 131026, httpStatus: 400 } });
    expect(JSON.parse(outcome!.bodyText).error.code).toBe(131026);
    for (const r of await states(rig.store, records)) {
      expect(r.attempts).toBe(1);
      expect(r.lastError).toMatchObject({ code: 131026, httpStatus: 400 });
      expect(r.lastError!.title.length).toBeGreaterThan(0);
    }
    expect(sim.stats().numbers['3003']!.refused['131026']).toBe(5);
  });

  it('retries stop at maxAttempts: failed with the last upstream error', async () => {
    const [record] = await submitAll('3010', 1);
    await until('failed', allFinal([record!], 'failed'));
    const [r] = await states(rig.store, [record!]);
    expect(r!.attempts).toBe(8);
    expect(r!.lastError).toMatchObject({ code: 131000, httpStatus: 500 });
    expect(sim.stats().numbers['3010']!.refused['131000']).toBe(8);
  });

  it('131056 parks only that recipient (4^n s) while the number keeps sending to others', async () => {
    const parked = '15557770001';
    const first = await rig.enqueue({ phoneNumberId: '3004', to: parked });
    const second = await rig.enqueue({ phoneNumberId: '3004', to: parked });
    rig.dispatcher.submit(first);
    rig.dispatcher.submit(second);
    const others = await submitAll('3004', 30);
    await until('others sent', allFinal(others), 5000);
    const [secondNow] = await states(rig.store, [second]);
    expect(secondNow!.state).toBe('queued'); // still parked
    expect(secondNow!.lastError?.code).toBe(131056);
    await until('parked recipient sent', allFinal([first, second]), 8000);
    const attemptsOf = (id: string) => rig.events.filter((e) => e.type === 'attempt' && e.id === id);
    const [refused, accepted] = attemptsOf(second.id);
    expect(refused).toMatchObject({ code: 131056, reaction: 'backoff-pair' });
    expect(accepted).toMatchObject({ code: 0, reaction: 'sent' });
    // The others did not wait for the park: some of them were sent while the recipient was parked
    // (what the upstream saw, in order, rather than a wall-clock bound a loaded machine can miss).
    const othersDuringPark = others.filter((o) => attemptsOf(o.id).some((a) => a.type === 'attempt' && a.code === 0 && a.atMs > refused!.atMs && a.atMs < accepted!.atMs));
    expect(othersDuringPark.length).toBeGreaterThan(0);
    // First park: 4^0 s = 1 s; a late timer only makes it longer (990: the clocks' ms granularity).
    expect(accepted!.atMs - refused!.atMs).toBeGreaterThanOrEqual(990);
    const pairs = sim.stats().pairs['3004']!;
    expect(pairs[parked]).toMatchObject({ accepted: 2, refused: 1 });
    expect(Object.values(pairs).reduce((a, p) => a + p.refused, 0)).toBe(1);
    const [s2] = await states(rig.store, [second]);
    expect(s2!.attempts).toBe(2);
    const lane = rig.dispatcher.snapshot().find((l) => l.phoneNumberId === '3004')!;
    expect(lane.effectiveMps).toBe(90); // a pair limit never slows the number
  });

  it('131048 pauses the number until resumed; messages stay queued meanwhile', async () => {
    sim.setFaults({ errorRates: { '131048': 1 } }, '3005');
    const records = await submitAll('3005', 10);
    await until('paused', () => rig.dispatcher.snapshot().find((l) => l.phoneNumberId === '3005')?.paused === true);
    await until('requeued', async () => (await states(rig.store, records)).every((r) => r.state === 'queued'));
    const refusedAtPause = sim.stats().numbers['3005']!.refused['131048']!;
    await new Promise((r) => setTimeout(r, 300));
    expect(sim.stats().numbers['3005']!.refused['131048']).toBe(refusedAtPause); // nothing more was tried
    expect(rig.dispatcher.estimateWaitMs('3005')).toBe(Number.POSITIVE_INFINITY);
    expect(rig.warnings.some((w) => w.includes('paused'))).toBe(true);

    sim.setFaults({}, '3005');
    rig.dispatcher.resume('3005');
    await until('all sent after resume', allFinal(records));
    expect(sim.stats().numbers['3005']!.accepted).toBe(10);
  });

  it('190 pauses every number of the tenant until the token is fixed and the tenant resumed', async () => {
    const bad = await submitAll('3006', 3);
    await until('tenant paused', () => rig.dispatcher.snapshot().filter((l) => l.tenantId === 'beta' && l.paused).length >= 1);
    const sibling = await submitAll('3007', 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(sim.stats().numbers['3007']?.accepted ?? 0).toBe(0); // same tenant: held too
    expect((await states(rig.store, bad)).every((r) => r.state === 'queued' && r.lastError?.code === 190)).toBe(true);

    rig.numbers.get('3006')!.accessToken = TOKEN('3006');
    rig.dispatcher.resumeTenant('beta');
    await until('all sent after resume', allFinal([...bad, ...sibling]));
  });

  it('a message past its deadline is never sent: expired', async () => {
    // 2 mps × 0.9, burst 1: the first leaves at once, the next not before ~556 ms, past a 300 ms deadline
    const nowMs = Date.now();
    const records = await submitAll('3008', 4, { deadlineAtMs: nowMs + 300 });
    await until('first sent', allFinal(records.slice(0, 1)));
    await until('rest expired', allFinal(records.slice(1), 'expired'));
    expect(sim.stats().numbers['3008']!.accepted).toBe(1);
    for (const r of await states(rig.store, records.slice(1))) {
      expect(r.wamid).toBeNull();
      expect(r.attempts).toBe(0);
      expect(r.lastError?.code).toBe(900429);
    }

    // and a paused number does not send it after resume either
    rig.dispatcher.pause('3009');
    const [late] = await submitAll('3009', 1, { deadlineAtMs: Date.now() + 100 });
    await new Promise((r) => setTimeout(r, 200));
    rig.dispatcher.resume('3009');
    await until('expired', allFinal([late!], 'expired'));
    expect(sim.stats().numbers['3009']?.accepted ?? 0).toBe(0);
  });
});
