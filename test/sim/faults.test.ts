import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { drawLatencyMs } from '../../src/sim/faults.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/sim/index.js';
import { mulberry32 } from '../../src/sim/prng.js';
import { post, text, TOKEN } from './helpers.js';

let sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.map((s) => s.close()));
  sims = [];
});
async function start(options: SimulatorOptions): Promise<Simulator> {
  const s = await startSimulator({ limits: { pairIntervalMs: 0, mps: 10_000, burst: 10_000 }, ...options });
  sims.push(s);
  return s;
}
const url = (s: Simulator, id = '1001') => `${s.url}/v23.0/${id}/messages`;

async function outcomes(s: Simulator, n: number, id = '1001'): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await post(url(s, id), text('16505551234'));
    out.push(r.status === 200 ? 0 : r.json.error.code);
  }
  return out;
}

describe('fault injection', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const faults = { errorRates: { 131000: 0.2, 131016: 0.1, 130429: 0.1 } };
    const numbers = [{ phoneNumberId: '1001', accessToken: TOKEN }];
    const a = await outcomes(await start({ seed: 42, numbers, faults }), 60);
    const b = await outcomes(await start({ seed: 42, numbers, faults }), 60);
    const c = await outcomes(await start({ seed: 43, numbers, faults }), 60);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a)).toEqual(new Set([0, 131000, 131016, 130429]));
  });

  it('answers injected codes with their Meta HTTP status', async () => {
    const s = await start({ numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }] });
    const cases: Array<[number, number]> = [[131000, 500], [131016, 503], [130429, 400], [131048, 400], [368, 403], [190, 401], [131057, 500]];
    for (const [code, status] of cases) {
      s.setFaults({ errorRates: { [code]: 1 } });
      const r = await post(url(s), text('16505551234'));
      expect([r.status, r.json.error.code, r.json.error.type]).toEqual([status, code, 'OAuthException']);
    }
    s.setFaults(undefined);
    expect((await post(url(s), text('16505551234'))).status).toBe(200);
    expect(s.stats().numbers['1001']!.refused).toMatchObject({ 131000: 1, 131016: 1, 368: 1 });
  });

  it('per-number faults override global ones; other numbers keep the global', async () => {
    const s = await start({
      faults: { errorRates: { 131000: 1 } },
      numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, faults: { errorRates: {} } }, { phoneNumberId: '1002', accessToken: TOKEN }],
    });
    expect(await outcomes(s, 2, '1001')).toEqual([0, 0]);
    expect(await outcomes(s, 2, '1002')).toEqual([131000, 131000]);
    s.setFaults({ errorRates: { 131016: 1 } }, '1001');
    expect(await outcomes(s, 1, '1001')).toEqual([131016]);
  });

  it('scheduled phases: 131057 for 60 s from t, then normal (manual clock)', async () => {
    const clock = new ManualClock();
    const s = await start({ clock, numbers: [{ phoneNumberId: '1001', accessToken: TOKEN }], faults: { phases: [{ code: 131057, startMs: 10_000, durationMs: 60_000 }] } });
    expect(await outcomes(s, 1)).toEqual([0]);
    clock.advance(10_000);
    const r = await post(url(s), text('16505551234'));
    expect([r.status, r.json.error.message]).toEqual([500, '(#131057) Account in maintenance mode']);
    clock.advance(59_999);
    expect(await outcomes(s, 1)).toEqual([131057]);
    clock.advance(1);
    expect(await outcomes(s, 1)).toEqual([0]);
    s.reset(); // phases restart from the reset
    clock.advance(10_000);
    expect(await outcomes(s, 1)).toEqual([131057]);
  });

  it('fixed latency delays the answer', async () => {
    const s = await start({ numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, faults: { latency: { kind: 'fixed', ms: 120 } } }] });
    const t0 = performance.now();
    expect((await post(url(s), text('16505551234'))).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
  });

  it('a long-tail mix draws each part by weight, inside its bounds', () => {
    const random = mulberry32(3);
    const latency = { kind: 'mix' as const, parts: [{ weight: 0.8, minMs: 0, maxMs: 2 }, { weight: 0.2, minMs: 150, maxMs: 200 }] };
    const draws = Array.from({ length: 10_000 }, () => drawLatencyMs(latency, random));
    expect(draws.every((d) => (d >= 0 && d <= 2) || (d >= 150 && d <= 200))).toBe(true);
    const tail = draws.filter((d) => d >= 150).length / draws.length;
    expect(tail).toBeGreaterThan(0.18);
    expect(tail).toBeLessThan(0.22);
    const uniform = Array.from({ length: 1000 }, () => drawLatencyMs({ kind: 'uniform', minMs: 5, maxMs: 10 }, random));
    expect(Math.min(...uniform)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...uniform)).toBeLessThanOrEqual(10);
  });

  it('timeouts never answer: the client gives up', async () => {
    const s = await start({ numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, faults: { timeoutRate: 1 } }] });
    const t0 = performance.now();
    await expect(request(url(s), {
      method: 'POST', headersTimeout: 300, body: JSON.stringify(text('16505551234')),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(s.stats().numbers['1001']!.timeouts).toBe(1);
  });

  it('connection resets destroy the socket without an answer', async () => {
    const s = await start({ numbers: [{ phoneNumberId: '1001', accessToken: TOKEN, faults: { resetRate: 1 } }] });
    await expect(post(url(s), text('16505551234'))).rejects.toMatchObject({ code: expect.stringMatching(/UND_ERR_SOCKET|ECONNRESET/) });
    expect(s.stats().numbers['1001']!.resets).toBe(1);
  });

  it('rejects a bad fault config with the path of the bad value', async () => {
    await expect(startSimulator({ faults: { errorRates: { 131000: 2 } } })).rejects.toThrow(/\/faults\/errorRates\/131000/);
    await expect(startSimulator({ faults: { latency: { kind: 'fixed' } as never } })).rejects.toThrow(/\/faults\/latency/);
  });
});
