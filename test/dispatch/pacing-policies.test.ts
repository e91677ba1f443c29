/**
 * Delays the dispatcher applies on top of the number's rate, against the simulator as the oracle:
 * the pair rate parks only the recipient that is ahead (never early, FIFO, 0 × 131056), a young
 * number's lane sleeps when its warm-up window is full, and 131057 pauses the number for a while,
 * then one probe goes first.
 *
 * The dispatcher and the simulator share one ManualClock: what may leave is decided by the clock
 * the test moves, and times are read from it, so a loaded machine slows the test but cannot change
 * what it sees. A held clock shows what goes without waiting (others past a parked recipient); the
 * clock then runs in small steps until the rest has gone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import type { DispatchEvent } from '../../src/dispatch/types.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { MessageRecord } from '../../src/store/types.js';
import { makeRig, until, type Rig } from './harness.js';

const PAIR_NUMBER = '4101';
const WARM_NUMBER = '4102';
const MAINT_NUMBER = '4103';
const PAIR_INTERVAL_MS = 300;
const WARM_CAP = { windowMs: 1000, limit: 5 };
const MAINTENANCE_PAUSE_MS = 500;

/** A dispatch event with the manual clock's time when it was reported. */
type ClockedEvent = DispatchEvent & { atMs: number };
type Final = Extract<ClockedEvent, { type: 'final' }>;
type Attempt = Extract<ClockedEvent, { type: 'attempt' }>;

describe('pacing policies in the dispatcher', () => {
  const clock = new ManualClock(Date.now());
  const events: ClockedEvent[] = [];
  let sim: Simulator;
  let rig: Rig;

  beforeAll(async () => {
    sim = await startSimulator({
      clock,
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
        clock,
        onEvent: (e) => void events.push({ ...e, atMs: clock.nowMs() }),
        warmup: { capsOf: (id) => (id === WARM_NUMBER ? WARM_CAP : null) },
        window: core.window,
        maintenancePauseMs: MAINTENANCE_PAUSE_MS,
      },
    });
    // Each lane starts in debt: let every number reach a full bucket (100 / 100 mps) and an empty
    // warm-up window before the tests hold the clock.
    for (const id of [PAIR_NUMBER, WARM_NUMBER, MAINT_NUMBER]) {
      const read = await enqueue({ phoneNumberId: id, to: '', toInput: '', body: JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.settle' }) });
      rig.dispatcher.submit(read);
      await runClockUntil(`lane ${id} settled`, allFinal([read]), 10);
    }
    clock.advance(2000);
  });
  afterAll(async () => {
    await rig?.close();
    await sim?.close();
  });

  /** Enqueues with the manual clock's time: a record is not due before its creation time. */
  const enqueue: Rig['enqueue'] = (m) => rig.enqueue({ createdAtMs: clock.nowMs(), deadlineAtMs: clock.nowMs() + 3_600_000, ...m });
  const finals = (records: MessageRecord[]): Final[] => {
    const ids = new Set(records.map((r) => r.id));
    return events.filter((e): e is Final => e.type === 'final' && ids.has(e.id));
  };
  const attemptsOf = (records: MessageRecord[]): Attempt[] => {
    const ids = new Set(records.map((r) => r.id));
    return events.filter((e): e is Attempt => e.type === 'attempt' && ids.has(e.id));
  };
  const allFinal = (records: MessageRecord[]) => () => finals(records).length === records.length;
  /** Moves the clock in small steps (each given a moment to act on) until `done`. */
  const runClockUntil = (what: string, done: () => boolean, stepMs = 50) =>
    until(what, () => {
      if (done()) return true;
      clock.advance(stepMs);
      return false;
    }, 30_000);

  it('pair rate: one recipient is spaced and kept in order, others are not slowed, the upstream refuses nothing', async () => {
    const user = '15558880001';
    const mine: MessageRecord[] = [];
    for (let i = 0; i < 6; i++) mine.push(await enqueue({ phoneNumberId: PAIR_NUMBER, to: user }));
    const others: MessageRecord[] = [];
    for (let i = 0; i < 20; i++) others.push(await enqueue({ phoneNumberId: PAIR_NUMBER }));
    const heldAtMs = clock.nowMs();
    for (const r of [...mine, ...others]) rig.dispatcher.submit(r);

    // The clock is held: all twenty others go now; the recipient gets at most its burst, the rest is parked.
    await until('others sent', allFinal(others), 10_000);
    expect(clock.nowMs()).toBe(heldAtMs);
    expect(finals(others).every((e) => e.state === 'sent')).toBe(true);
    expect(finals(mine).length).toBeLessThanOrEqual(2);
    expect(rig.dispatcher.snapshot().find((l) => l.phoneNumberId === PAIR_NUMBER)!.parkedRecipients).toBe(1);

    await runClockUntil('the recipient sent', allFinal(mine));
    const done = finals(mine);
    expect(done.every((e) => e.state === 'sent' && e.to === user && e.template === false)).toBe(true);
    expect(done.map((e) => e.id)).toEqual(mine.map((r) => r.id)); // FIFO per recipient
    // At one per 300 ms with a burst of 2 at most, six need at least four intervals.
    expect(done.at(-1)!.atMs - done[0]!.atMs).toBeGreaterThanOrEqual(4 * PAIR_INTERVAL_MS);
    const stats = sim.stats();
    expect(stats.numbers[PAIR_NUMBER]!.refused).toEqual({});
    expect(stats.pairs[PAIR_NUMBER]![user]).toMatchObject({ accepted: 6, refused: 0 });
    expect(stats.pairs[PAIR_NUMBER]![user]!.maxInWindow).toBeLessThanOrEqual(2);
  });

  it('mark-as-read bodies (no recipient) are sent and not paced by the pair rate; final events say template or not', async () => {
    const reads: MessageRecord[] = [];
    for (let i = 0; i < 5; i++) {
      const body = JSON.stringify({ messaging_product: 'whatsapp', status: 'read', message_id: `wamid.read${i}` });
      reads.push(await enqueue({ phoneNumberId: PAIR_NUMBER, to: '', toInput: '', body }));
    }
    const tpl = await enqueue({
      phoneNumberId: PAIR_NUMBER,
      to: '15558880002',
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '+15558880002', type: 'template', template: { name: 't', language: { code: 'en_US' } } }),
    });
    const heldAtMs = clock.nowMs();
    const readsBefore = sim.stats().numbers[PAIR_NUMBER]!.markedRead;
    for (const r of [...reads, tpl]) rig.dispatcher.submit(r);
    // The clock is held: paced as one pair, three of the five reads could never leave.
    await until('all sent', allFinal([...reads, tpl]), 10_000);
    expect(clock.nowMs()).toBe(heldAtMs);
    const done = finals(reads);
    expect(done.every((e) => e.state === 'sent' && e.to === '' && e.template === false)).toBe(true);
    expect(sim.stats().numbers[PAIR_NUMBER]!.markedRead - readsBefore).toBe(5);
    expect(finals([tpl])[0]).toMatchObject({ state: 'sent', to: '15558880002', template: true });
  });

  it('warm-up: the lane sleeps when its window is full; never more than the cap in any second', async () => {
    const records: MessageRecord[] = [];
    for (let i = 0; i < 15; i++) records.push(await enqueue({ phoneNumberId: WARM_NUMBER }));
    for (const r of records) rig.dispatcher.submit(r);
    // 15 at 5 per (1 s + jitter budget): the deadline check sees the cap, not the 100 mps.
    expect(rig.dispatcher.estimateWaitMs(WARM_NUMBER)).toBeGreaterThanOrEqual(2000);

    // The clock is held: one window's worth leaves, the lane sleeps with the rest.
    await until('the first window sent', () => finals(records).length === WARM_CAP.limit, 10_000);
    expect(sim.stats().numbers[WARM_NUMBER]!.accepted).toBe(WARM_CAP.limit);

    await runClockUntil('all sent', allFinal(records));
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
    for (let i = 0; i < 5; i++) records.push(await enqueue({ phoneNumberId: MAINT_NUMBER }));
    const startMs = clock.nowMs();
    for (const r of records) rig.dispatcher.submit(r);
    const attempts = () => attemptsOf(records);
    const lane = () => rig.dispatcher.snapshot().find((l) => l.phoneNumberId === MAINT_NUMBER)!;

    // Answers are reported before their reaction is committed: wait until all five are back in the lane.
    await until('first round back in the lane', () => attempts().length === 5 && lane().depth === 5, 10_000);
    expect(lane()).toMatchObject({ paused: true, pausedUntilMs: startMs + MAINTENANCE_PAUSE_MS });
    // A millisecond short of the pause's end, nothing goes (given time to, had it been allowed).
    clock.advance(MAINTENANCE_PAUSE_MS - 1);
    await new Promise((r) => setTimeout(r, 2 * MAINTENANCE_PAUSE_MS));
    expect(attempts()).toHaveLength(5);

    // The pause ends: one probe, still refused, pauses the number again from then.
    clock.advance(1);
    await until('first probe answered', () => attempts().length === 6 && lane().pausedUntilMs === startMs + 2 * MAINTENANCE_PAUSE_MS, 10_000);
    // Fixed while the clock is held, before the second probe can go.
    sim.setFaults(undefined, MAINT_NUMBER);
    clock.advance(MAINTENANCE_PAUSE_MS);
    await until('all sent', allFinal(records), 10_000);

    const all = attempts();
    expect(all.map((e) => e.code)).toEqual([131057, 131057, 131057, 131057, 131057, 131057, 0, 0, 0, 0, 0]);
    expect(all.every((e) => (e.code === 0 ? e.reaction === 'sent' : e.reaction === 'pause-probe'))).toBe(true);
    expect(all.map((e) => e.atMs - startMs)).toEqual([0, 0, 0, 0, 0, 1, 2, 2, 2, 2, 2].map((k) => k * MAINTENANCE_PAUSE_MS));
    expect(finals(records).every((e) => e.state === 'sent')).toBe(true);
    expect(lane()).toMatchObject({ paused: false, pausedUntilMs: 0 });
  });

  it('an operator resume ends a maintenance pause early', async () => {
    sim.setFaults({ errorRates: { '131057': 1 } }, MAINT_NUMBER);
    const record = await enqueue({ phoneNumberId: MAINT_NUMBER });
    rig.dispatcher.submit(record);
    await until('refused once', () => events.some((e) => e.type === 'attempt' && e.id === record.id), 10_000);
    const pausedUntilMs = rig.dispatcher.snapshot().find((l) => l.phoneNumberId === MAINT_NUMBER)!.pausedUntilMs;
    expect(pausedUntilMs).toBe(clock.nowMs() + MAINTENANCE_PAUSE_MS);
    sim.setFaults(undefined, MAINT_NUMBER);
    // The clock is held short of the pause's end: only the resume can let the message go.
    rig.dispatcher.resume(MAINT_NUMBER);
    await until('sent', allFinal([record]), 10_000);
    expect(finals([record])[0]).toMatchObject({ state: 'sent' });
    expect(finals([record])[0]!.atMs).toBeLessThan(pausedUntilMs);
  });
});
