import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { gcraTake } from '../../src/sim/gcra.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { post, sleep, text, TOKEN } from './helpers.js';

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const url = (s: Simulator) => `${s.url}/v23.0/1001/messages`;
const codes = async (n: number, s: Simulator, body: unknown) => {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(url(s), body);
    out.push(r.status === 200 ? 0 : r.json.error.code);
  }
  return out;
};

describe('gcraTake', () => {
  it('lets a burst through back to back, then one per interval', () => {
    let tat = -Infinity;
    for (let i = 0; i < 3; i++) {
      tat = gcraTake(tat, 1000, 100, 3);
      expect(tat).toBeGreaterThan(0);
    }
    expect(gcraTake(tat, 1000, 100, 3)).toBe(-1);
    expect(gcraTake(tat, 1099, 100, 3)).toBe(-1);
    expect(gcraTake(tat, 1100, 100, 3)).toBe(tat + 100);
  });
  it('never refuses a stream exactly at the rate, even with fractional intervals', () => {
    let tat = -Infinity;
    for (let i = 0; i < 10_000; i++) {
      tat = gcraTake(tat, i * 12.5, 12.5, 1);
      expect(tat).not.toBe(-1);
    }
  });
});

describe('throughput (130429)', () => {
  it('allows the burst, refuses the next with 400/130429, refills at mps (manual clock)', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }], limits: { pairIntervalMs: 0 } });
    const first = await codes(81, sim, text('16505551234'));
    expect(first.slice(0, 80).every((c) => c === 0)).toBe(true);
    expect(first[80]).toBe(130429);
    const r = await post(url(sim), text('16505551234'));
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('(#130429) Rate limit hit');
    clock.advance(12.5);
    expect(await codes(2, sim, text('16505551234'))).toEqual([0, 130429]);
    clock.advance(1000);
    expect((await codes(81, sim, text('16505551234'))).filter((c) => c === 0)).toHaveLength(80);
    const s = sim.stats().numbers['1001']!;
    expect(s.accepted).toBe(161);
    expect(s.refused['130429']).toBe(4);
    expect(s.maxPerSec).toBe(81); // 80 burst + 1 refill inside the first second of manual time
  });

  /** Sends at absolute times start + i / mps (late timers catch up, never run ahead) over fresh, pre-opened sockets. */
  async function paced(s: Simulator, id: string, mps: number, durationMs: number): Promise<{ ok: number; refused: number }> {
    const agent = new Agent({ connections: 32 });
    const target = `${s.url}/v23.0/${id}/messages`;
    try {
      // Open the sockets first: a first request delayed by connection setup would shift the GCRA's
      // schedule and make the on-time requests after it look like a burst.
      await Promise.all(Array.from({ length: 32 }, () => request(`${s.url}/__sim/stats?pairs=0`, { dispatcher: agent }).then((r) => r.body.dump())));
      const intervalMs = 1000 / mps;
      const start = performance.now();
      const pending: Promise<number>[] = [];
      for (let i = 0; i * intervalMs < durationMs; i++) {
        const wait = start + i * intervalMs - performance.now();
        if (wait > 0) await sleep(wait);
        pending.push(request(target, {
          method: 'POST', dispatcher: agent, body: JSON.stringify(text(`1650555${String(i).padStart(4, '0')}`)),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
        }).then(async (r) => { await r.body.dump(); return r.statusCode; }));
      }
      const statuses = await Promise.all(pending);
      return { ok: statuses.filter((c) => c === 200).length, refused: statuses.filter((c) => c === 400).length };
    } finally {
      await agent.close();
    }
  }

  it('a client paced at the limit is never refused; one 10 % over is (real time, 2 s each)', async () => {
    // Burst 10 (180 ms of tolerance) absorbs arrival jitter at the limit; burst 2 makes a 10 % excess
    // show within a fraction of a second, whatever the machine's load.
    sim = await startSimulator({
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, mps: 50, burst: 10 }, { phoneNumberId: '1002', accessToken: TOKEN, mps: 50, burst: 2 }],
    });
    const atLimit = await paced(sim, '1001', 50, 2000);
    expect(atLimit).toEqual({ ok: 100, refused: 0 });
    expect(sim.stats().numbers['1001']!.maxPerSec).toBeLessThanOrEqual(50 + 10);
    const over = await paced(sim, '1002', 55, 2000);
    expect(over.refused).toBeGreaterThan(0);
    expect(over.ok + over.refused).toBe(110);
    expect(sim.stats().numbers['1002']!.refused['130429']).toBe(over.refused);
  });
});

describe('pair rate (131056)', () => {
  it('burst, then refill at one per interval, per recipient only', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, pairBurst: 3 }] });
    expect(await codes(4, sim, text('16505551234'))).toEqual([0, 0, 0, 131056]);
    expect(await codes(1, sim, text('+1 650 555 9999'))).toEqual([0]); // other users unaffected
    clock.advance(5999);
    expect(await codes(1, sim, text('16505551234'))).toEqual([131056]);
    clock.advance(1);
    expect(await codes(2, sim, text('+1 (650) 555-1234'))).toEqual([0, 131056]); // same wa_id in another spelling
    clock.advance(3 * 6000);
    expect(await codes(4, sim, text('16505551234'))).toEqual([0, 0, 0, 131056]);
    const pair = sim.stats().pairs['1001']!['16505551234']!;
    // windows are (t - 6 s, t]: the burst at t = 0 has left the window when the refill at t = 6 s arrives
    expect(pair).toEqual({ accepted: 7, refused: 4, maxInWindow: 3 });
    expect(sim.stats().numbers['1001']!.maxPairInWindow).toBe(3);
  });

  it("defaults to Meta's 1 per 6 s with bursts of 45", async () => {
    const clock = new ManualClock();
    sim = await startSimulator({ clock, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }], limits: { mps: 1000, burst: 1000 } });
    const c = await codes(46, sim, text('16505551234'));
    expect(c.filter((x) => x === 0)).toHaveLength(45);
    expect(c[45]).toBe(131056);
    const r = await post(url(sim), text('16505551234'));
    expect(r.json.error.message).toBe('(#131056) (Business Account, Consumer Account) pair rate limit hit');
  });
});

describe('service window (131047) and inbound', () => {
  it('free-form needs an inbound within 24 h; templates do not; inbound counts against throughput', async () => {
    const clock = new ManualClock();
    sim = await startSimulator({
      clock, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, mps: 10, burst: 10, serviceWindow: 'sync' }], limits: { pairIntervalMs: 0 },
    });
    const closed = await post(url(sim), text('16505551234'));
    expect(closed.status).toBe(400);
    expect(closed.json.error.code).toBe(131047);
    const template = await post(url(sim), { messaging_product: 'whatsapp', to: '16505551234', type: 'template', template: { name: 't', language: { code: 'en' } } });
    expect(template.status).toBe(200);
    for (let i = 0; i < 5; i++) sim.inbound({ phoneNumberId: '1001', from: '+1 650 555 1234', text: `hi ${i}` });
    // bucket of 10: 1 template + 5 inbound used, so 4 sends pass and the 5th is throttled
    expect(await codes(5, sim, text('16505551234'))).toEqual([0, 0, 0, 0, 130429]);
    clock.advance(24 * 3600 * 1000);
    expect(await codes(1, sim, text('16505551234'))).toEqual([131047]);
    expect(sim.stats().numbers['1001']!.inbound).toBe(5);
  });
});
