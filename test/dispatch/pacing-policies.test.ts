/**
 * Delays the dispatcher applies on top of the number's rate, against the simulator as the oracle:
 * the pair rate parks only the recipient that is ahead (never early, FIFO, 0 × 131056), a young
 * number's lane sleeps when its warm-up window is full, and 131057 pauses the number for a while,
 * then one probe goes first.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCore } from '../../src/core/index.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { MessageRecord } from '../../src/store/types.js';
import { makeRig, until, type Rig, type TimedEvent } from './harness.js';

const PAIR_NUMBER = '4101';
const WARM_NUMBER = '4102';
const MAINT_NUMBER = '4103';
const PAIR_INTERVAL_MS = 300;
const WARM_CAP = { windowMs: 1000, limit: 5 };
const MAINTENANCE_PAUSE_MS = 500;

type Final = Extract<TimedEvent, { type: 'final' }>;

describe('pacing policies in the dispatcher', () => {
  let sim: Simulator;
  let rig: Rig;

  beforeAll(async () => {
    sim = await startSimulator({
      limits: { mps: 500, burst: 500, pairIntervalMs: 0 },
      numbers: [
        { phoneNumberId: PAIR_NUMBER, accessToken: `tok-${PAIR_NUMBER}`, pairIntervalMs: PAIR_INTERVAL_MS, pairBurst: 2 },
        { phoneNumberId: WARM_NUMBER, accessToken: `tok-${WARM_NUMBER}` },
        { phoneNumberId: MAINT_NUMBER, accessToken: `tok-${MAINT_NUMBER}` },
      ],
    });
    const core = await loadCore({ gcraKeys: 1 << 10, windowKeys: 256, uniqueKeys: 256, repeatKeys: 256 });
    const info = (id: string) => ({ tenantId: 'acme', accessToken: `tok-${id}`, mps: 100, burst: 100 });
    rig = await makeRig({
      baseUrl: sim.url,
      numbers: {
        [PAIR_NUMBER]: { ...info(PAIR_NUMBER), pair: { intervalMs: PAIR_INTERVAL_MS, burst: 2 } },
        [WARM_NUMBER]: info(WARM_NUMBER),
        [MAINT_NUMBER]: info(MAINT_NUMBER),
      },
      extra: {
        warmup: { capsOf: (id) => (id === WARM_NUMBER ? WARM_CAP : null) },
        window: core.window,
        maintenancePauseMs: MAINTENANCE_PAUSE_MS,
      },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await sim?.close();
  });

  const finals = (records: MessageRecord[]): Final[] => {
    const ids = new Set(records.map((r) => r.id));
    return rig.events.filter((e): e is Final => e.type === 'final' && ids.has(e.id));
  };
  const allFinal = (records: MessageRecord[]) => () => finals(records).length === records.length;

  it('pair rate: one recipient is spaced and kept in order, others are not slowed, the upstream refuses nothing', async () => {
    const user = '15558880001';
    const mine: MessageRecord[] = [];
    for (let i = 0; i < 6; i++) mine.push(await rig.enqueue({ phoneNumberId: PAIR_NUMBER, to: user }));
    const others: MessageRecord[] = [];
    for (let i = 0; i < 20; i++) others.push(await rig.enqueue({ phoneNumberId: PAIR_NUMBER }));
    const startMs = Date.now();
    for (const r of [...mine, ...others]) rig.dispatcher.submit(r);

    await until('others sent', allFinal(others), 3000);
    const othersDoneMs = Date.now() - startMs;
    expect(rig.dispatcher.snapshot().find((l) => l.phoneNumberId === PAIR_NUMBER)!.parkedRecipients).toBe(1);
    await until('the recipient sent', allFinal(mine), 6000);

    const done = finals(mine);
    expect(done.every((e) => e.state === 'sent' && e.to === user && e.template === false)).toBe(true);
    expect(done.map((e) => e.id)).toEqual(mine.map((r) => r.id)); // FIFO per recipient
    // Paced at bucket 1 (2 minus the jitter budget): 5 intervals between the first departure and the
    // last; measured at the answers, so allow one interval of jitter (unpaced, all six go at once).
    const spanMs = done.at(-1)!.atMs - done[0]!.atMs;
    expect(spanMs).toBeGreaterThanOrEqual(4 * PAIR_INTERVAL_MS);
    expect(othersDoneMs).toBeLessThan(2 * PAIR_INTERVAL_MS + 1000);
    const stats = sim.stats();
    expect(stats.numbers[PAIR_NUMBER]!.refused).toEqual({});
    expect(stats.pairs[PAIR_NUMBER]![user]).toMatchObject({ accepted: 6, refused: 0 });
    expect(stats.pairs[PAIR_NUMBER]![user]!.maxInWindow).toBeLessThanOrEqual(2);
  });

  it('mark-as-read bodies (no recipient) are sent and not paced by the pair rate; final events say template or not', async () => {
    const reads: MessageRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: `wamid.read${i}` });
      reads.push(await rig.enqueue({ phoneNumberId: PAIR_NUMBER, to: '', toInput: '', body }));
    }
    const tpl = await rig.enqueue({
      phoneNumberId: PAIR_NUMBER,
      to: '15558880002',
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '+15558880002', type: 'template', template: { name: 't', language: { code: 'en_US' } } }),
    });
    for (const r of [...reads, tpl]) rig.dispatcher.submit(r);
    await until('all sent', allFinal([...reads, tpl]), 3000);
    const done = finals(reads);
    expect(done.every((e) => e.state === 'sent' && e.to === '' && e.template === false)).toBe(true);
    // Paced as one pair they would need 4 intervals (1200 ms).
    expect(done.at(-1)!.atMs - done[0]!.atMs).toBeLessThan(2 * PAIR_INTERVAL_MS);
    expect(finals([tpl])[0]).toMatchObject({ state: 'sent', to: '15558880002', template: true });
  });

  it('warm-up: the lane sleeps when its window is full; never more than the cap in any second', async () => {
    const records: MessageRecord[] = [];
    for (let i = 0; i < 15; i++) records.push(await rig.enqueue({ phoneNumberId: WARM_NUMBER }));
    for (const r of records) rig.dispatcher.submit(r);
    // 15 at 5 per (1 s + jitter budget): the deadline check sees the cap, not the 100 mps.
    expect(rig.dispatcher.estimateWaitMs(WARM_NUMBER)).toBeGreaterThanOrEqual(2000);

    await until('all sent', allFinal(records), 6000);
    const done = finals(records);
    expect(done.every((e) => e.state === 'sent')).toBe(true);
    const n = sim.stats().numbers[WARM_NUMBER]!;
    expect(n.accepted).toBe(15);
    expect(n.maxPerSec).toBeLessThanOrEqual(WARM_CAP.limit);
    // Three windows' worth: the last five leave two full windows after the first five.
    expect(n.lastAcceptMs! - n.firstAcceptMs!).toBeGreaterThanOrEqual(2 * WARM_CAP.windowMs);
  });

  it('131057 pauses the number, then one probe goes first; a probe answered 131057 pauses again', async () => {
    sim.setFaults({ errorRates: { '131057': 1 } }, MAINT_NUMBER);
    const records: MessageRecord[] = [];
    for (let i = 0; i < 5; i++) records.push(await rig.enqueue({ phoneNumberId: MAINT_NUMBER }));
    for (const r of records) rig.dispatcher.submit(r);
    const attempts = () => rig.events.filter((e) => e.type === 'attempt' && e.phoneNumberId === MAINT_NUMBER);

    const lane = () => rig.dispatcher.snapshot().find((l) => l.phoneNumberId === MAINT_NUMBER)!;
    // Answers are reported before their reaction is committed: wait until all five are back in the lane.
    await until('first round back in the lane', () => attempts().length === 5 && lane().depth === 5, 3000);
    expect(lane().paused).toBe(true);
    expect(lane().pausedUntilMs).toBeGreaterThan(Date.now());
    // Still failing when the first probe goes (after 500 ms), fixed before the second (after 1000 ms).
    setTimeout(() => sim.setFaults(undefined, MAINT_NUMBER), 1.5 * MAINTENANCE_PAUSE_MS);

    await until('all sent', allFinal(records), 5000);
    const codes = attempts().map((e) => (e.type === 'attempt' ? e.code : -2));
    expect(codes).toEqual([131057, 131057, 131057, 131057, 131057, 131057, 0, 0, 0, 0, 0]);
    expect(attempts().every((e) => e.type === 'attempt' && (e.code === 0 ? e.reaction === 'sent' : e.reaction === 'pause-probe'))).toBe(true);
    const [lastRefused, probe] = [attempts()[5]!, attempts()[6]!];
    expect(lastRefused.atMs - attempts()[4]!.atMs).toBeGreaterThanOrEqual(MAINTENANCE_PAUSE_MS - 20);
    expect(probe.atMs - lastRefused.atMs).toBeGreaterThanOrEqual(MAINTENANCE_PAUSE_MS - 20);
    expect(finals(records).every((e) => e.state === 'sent')).toBe(true);
    expect(rig.dispatcher.snapshot().find((l) => l.phoneNumberId === MAINT_NUMBER)).toMatchObject({ paused: false, pausedUntilMs: 0 });
  });

  it('an operator resume ends a maintenance pause early', async () => {
    sim.setFaults({ errorRates: { '131057': 1 } }, MAINT_NUMBER);
    const record = await rig.enqueue({ phoneNumberId: MAINT_NUMBER });
    rig.dispatcher.submit(record);
    await until('refused once', () => rig.events.some((e) => e.type === 'attempt' && e.id === record.id), 3000);
    const pausedUntilMs = rig.dispatcher.snapshot().find((l) => l.phoneNumberId === MAINT_NUMBER)!.pausedUntilMs;
    expect(pausedUntilMs).toBeGreaterThan(0);
    sim.setFaults(undefined, MAINT_NUMBER);
    rig.dispatcher.resume(MAINT_NUMBER);
    await until('sent', allFinal([record]), 3000);
    expect(finals([record])[0]).toMatchObject({ state: 'sent' });
    expect(finals([record])[0]!.atMs).toBeLessThan(pausedUntilMs);
  });
});
