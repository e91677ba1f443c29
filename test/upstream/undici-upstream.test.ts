/** The undici upstream against the Cloud API simulator: answers, Graph errors, network failures. */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { createUndiciUpstream, type UndiciUpstream } from '../../src/upstream/undici-upstream.js';

const TOKEN = 'EAAG-secret-token-value';
const body = (to = '+15551230001') => JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body: 'hi' } });

describe('undici upstream', () => {
  let sim: Simulator;
  let upstream: UndiciUpstream;

  beforeAll(async () => {
    sim = await startSimulator({
      limits: { pairIntervalMs: 0 },
      numbers: [
        { phoneNumberId: '5001', accessToken: TOKEN },
        { phoneNumberId: '5002', accessToken: TOKEN, faults: { timeoutRate: 1 } },
        { phoneNumberId: '5003', accessToken: TOKEN, faults: { resetRate: 1 } },
        { phoneNumberId: '5004', accessToken: TOKEN, faults: { latency: { kind: 'fixed', ms: 50 } }, mps: 1000, burst: 1000 },
      ],
    });
    // a trailing slash on the base URL is tolerated
    upstream = createUndiciUpstream({ baseUrl: `${sim.url}/`, version: 'v23.0', connections: 2, pipelining: 1, timeoutMs: 200 });
  });
  afterAll(async () => {
    await upstream?.close();
    await sim?.close();
  });

  it('posts to /{version}/{id}/messages with the bearer token and returns the wamid', async () => {
    const r = await upstream.send({ phoneNumberId: '5001', accessToken: TOKEN, body: body() });
    expect(r).toMatchObject({ kind: 'ok', status: 200 });
    if (r.kind !== 'ok') return;
    expect(r.wamid).toMatch(/^wamid\./);
    expect(JSON.parse(r.bodyText).contacts[0]).toEqual({ input: '+15551230001', wa_id: '15551230001' });
    expect(sim.stats().numbers['5001']!.accepted).toBe(1);
  });

  it('returns Graph errors with code, title and details, and never echoes the token', async () => {
    const wrong = await upstream.send({ phoneNumberId: '5001', accessToken: `${TOKEN}-old`, body: body() });
    expect(wrong).toMatchObject({ kind: 'error', status: 401, code: 190 });
    const unknown = await upstream.send({ phoneNumberId: '5999', accessToken: TOKEN, body: body() });
    expect(unknown).toMatchObject({ kind: 'error', status: 400, code: 100 });
    const invalid = await upstream.send({ phoneNumberId: '5001', accessToken: TOKEN, body: '{"messaging_product":"whatsapp"}' });
    expect(invalid.kind).toBe('error');
    if (invalid.kind === 'error') expect(invalid.title.startsWith('(#')).toBe(false);
    for (const r of [wrong, unknown, invalid]) expect(JSON.stringify(r)).not.toContain(TOKEN);
  });

  it('classifies a missing answer as timeout, a destroyed socket as reset, a closed port as refused', async () => {
    const t0 = performance.now();
    expect(await upstream.send({ phoneNumberId: '5002', accessToken: TOKEN, body: body() })).toMatchObject({ kind: 'network', reason: 'timeout' });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(await upstream.send({ phoneNumberId: '5003', accessToken: TOKEN, body: body() })).toMatchObject({ kind: 'network', reason: 'reset' });

    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const dead = createUndiciUpstream({ baseUrl: `http://127.0.0.1:${port}`, version: 'v23.0', connections: 1, pipelining: 1, timeoutMs: 500 });
    const r = await dead.send({ phoneNumberId: '5001', accessToken: TOKEN, body: body() });
    expect(r).toMatchObject({ kind: 'network', reason: 'refused' });
    expect(JSON.stringify(r)).not.toContain(TOKEN);
    await dead.close();
    expect(await dead.send({ phoneNumberId: '5001', accessToken: TOKEN, body: body() })).toMatchObject({ kind: 'network', reason: 'closed' });
  });

  it('never holds more than `connections` requests at the upstream at once', async () => {
    // 20 requests, 2 sockets, 50 ms each: at least 10 rounds
    const t0 = performance.now();
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => upstream.send({ phoneNumberId: '5004', accessToken: TOKEN, body: body(`+1555123${String(i).padStart(4, '0')}`) })));
    const elapsedMs = performance.now() - t0;
    expect(results.every((r) => r.kind === 'ok')).toBe(true);
    expect(elapsedMs).toBeGreaterThanOrEqual(10 * 50 - 10);
  });
});
