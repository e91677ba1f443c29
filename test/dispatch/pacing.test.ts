/**
 * Pacing against the simulator (in its own process) as the independent oracle: ten numbers, each with a backlog five
 * times its burst, paced at the full allowed rate (headroom 1) with a jitter tolerance of 50 ms
 * (one token of the upstream's bucket of 20 at 20 mps). The simulator must refuse nothing, see
 * every message exactly once, and each number must run at ≥ 97 % of its allowed rate while
 * backlogged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../src/store/types.js';
import { makeRig, states, until, type Rig } from './harness.js';
import { startSimProcess, type SimProcess } from './sim-process.js';

const NUMBERS = 10;
const PER_NUMBER = 100;
const MPS = 20;
const BURST = 20;
const HEADROOM = 1;
const JITTER_MS = 50;
/** The dispatcher's pacing bucket: min(⌊20 × 1⌋, 20 − ⌈20 mps × 50 ms⌉) = 19 (see pacedBurst). */
const PACED_BURST = 19;

describe('pacing: 10 numbers × 100 messages at 20 mps, burst 20, the full rate with 50 ms of jitter tolerance', () => {
  let sim: SimProcess;
  let rig: Rig;
  const ids = Array.from({ length: NUMBERS }, (_, i) => String(2001 + i));

  beforeAll(async () => {
    sim = await startSimProcess({
      limits: { mps: MPS, burst: BURST, pairIntervalMs: 0 },
      numbers: ids.map((phoneNumberId) => ({ phoneNumberId, accessToken: `tok-${phoneNumberId}` })),
    });
    rig = await makeRig({
      baseUrl: sim.url,
      numbers: Object.fromEntries(ids.map((id) => [id, { tenantId: 'acme', accessToken: `tok-${id}`, mps: MPS, burst: BURST }])),
      dispatch: { headroom: HEADROOM, jitterToleranceMs: JITTER_MS },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await sim?.close();
  });

  it('refuses nothing, delivers every message exactly once, keeps each number busy', async () => {
    const records: MessageRecord[] = [];
    for (const phoneNumberId of ids) {
      for (let i = 0; i < PER_NUMBER; i++) records.push(await rig.enqueue({ phoneNumberId }));
    }
    for (const r of records) rig.dispatcher.submit(r);

    await until('all sent', () => rig.events.filter((e) => e.type === 'final').length === records.length, 15_000);
    const stats = await sim.stats();
    const refusals = Object.entries(stats.numbers).filter(([, n]) => Object.keys(n.refused).length > 0).map(([id, n]) => `${id}: ${JSON.stringify(n.refused)}`);
    expect(refusals).toEqual([]);
    expect(stats.totals.refused).toBe(0);
    expect(stats.totals.accepted).toBe(NUMBERS * PER_NUMBER);

    const rows: string[] = [];
    for (const id of ids) {
      const n = stats.numbers[id]!;
      expect(n.accepted).toBe(PER_NUMBER);
      // exactly once: every recipient (one per message) was accepted once
      const pairs = Object.values(stats.pairs[id]!);
      expect(pairs).toHaveLength(PER_NUMBER);
      expect(pairs.every((p) => p.accepted === 1 && p.refused === 0)).toBe(true);
      // Rate while the backlog lasts. Overall includes the opening burst; steady excludes it
      // (PACED_BURST leave back to back, the rest at mps × headroom = 18).
      const spanSec = (n.lastAcceptMs! - n.firstAcceptMs!) / 1000;
      const overallMps = (PER_NUMBER - 1) / spanSec;
      const steadyMps = (PER_NUMBER - PACED_BURST) / spanSec;
      rows.push(`${id}: overall ${overallMps.toFixed(1)} mps, steady ${steadyMps.toFixed(1)} mps (${((100 * steadyMps) / MPS).toFixed(0)} % of mps, ${((100 * steadyMps) / (MPS * HEADROOM)).toFixed(0)} % of mps×headroom), max/s ${n.maxPerSec}`);
      // Busy while backlogged: without the opening burst the stream runs at the allowed rate. Timer
      // lag on a loaded machine only delays a departure; the bucket lets the next ones catch up,
      // so the average over the backlog holds (what the upstream saw, not a wall-clock bound).
      expect(overallMps).toBeGreaterThanOrEqual(0.97 * MPS);
      expect(steadyMps).toBeGreaterThanOrEqual(0.97 * MPS);
      // Never above the limit beyond clock granularity (the two processes' ms clocks): the
      // simulator's refusals above are the real check.
      expect(steadyMps).toBeLessThanOrEqual(MPS * 1.02);
    }
    console.log(`pacing per number:\n  ${rows.join('\n  ')}`);

    const final = await states(rig.store, records);
    expect(final.every((r) => r.state === 'sent' && r.wamid?.startsWith('wamid.') && r.attempts === 1)).toBe(true);
    expect(new Set(final.map((r) => r.wamid)).size).toBe(records.length);
    for (const lane of rig.dispatcher.snapshot()) {
      expect(lane).toMatchObject({ depth: 0, inFlight: 0, paused: false, effectiveMps: MPS * HEADROOM });
    }
  });
});
