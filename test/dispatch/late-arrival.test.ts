/**
 * An idle number's opening burst reaches the upstream late (requests on connections still being
 * opened: a TLS handshake at Meta), the steady requests after it on time. The upstream's bucket
 * then starts that much after ours and stays there while the number is backlogged, so the first
 * requests that arrive on time would be refused. The simulator holds the first 19 requests
 * (the whole paced burst) 150 ms before looking at them, three times the 50 ms jitter tolerance;
 * the answers tell the dispatcher how late they may have been, and it must refuse nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageRecord } from '../../src/store/types.js';
import { makeRig, until, type Rig } from './harness.js';
import { startSimProcess, type SimProcess } from './sim-process.js';

const MPS = 20;
const BURST = 20;
const MESSAGES = 60;
const ID = '3001';

describe('late arrivals: an opening burst that reaches the upstream 150 ms late', () => {
  let sim: SimProcess;
  let rig: Rig;

  beforeAll(async () => {
    sim = await startSimProcess({
      limits: { mps: MPS, burst: BURST, pairIntervalMs: 0 },
      numbers: [{ phoneNumberId: ID, accessToken: `tok-${ID}`, faults: { arrivalDelay: { requests: BURST - 1, delayMs: 150 } } }],
    });
    rig = await makeRig({
      baseUrl: sim.url,
      numbers: { [ID]: { tenantId: 'acme', accessToken: `tok-${ID}`, mps: MPS, burst: BURST } },
      dispatch: { headroom: 1, jitterToleranceMs: 50 },
    });
  });
  afterAll(async () => {
    await rig?.close();
    await sim?.close();
  });

  it('is refused nothing: the bucket is pushed back by what the answers show', async () => {
    const records: MessageRecord[] = [];
    for (let i = 0; i < MESSAGES; i++) records.push(await rig.enqueue({ phoneNumberId: ID }));
    for (const r of records) rig.dispatcher.submit(r);
    await until('all sent', () => rig.events.filter((e) => e.type === 'final').length === MESSAGES, 15_000);

    const stats = await sim.stats();
    const n = stats.numbers[ID]!;
    expect(n.refused).toEqual({});
    expect(n.accepted).toBe(MESSAGES);
    // Pushed back once, not slowed down: after the late burst the rest go at the full rate.
    const steadyMps = (MESSAGES - BURST) / ((n.lastAcceptMs! - n.firstAcceptMs!) / 1000);
    expect(steadyMps).toBeGreaterThanOrEqual(0.9 * MPS);
  });
});
