/**
 * Graph rate limits (80007, 4, 17, 32, 613, a bare HTTP 429) are throttling, not failures: the
 * number (or, for the app/token codes, the tenant) backs off and probes, every message is sent once
 * the limit lifts, throttled attempts never use up maxAttempts, and the deadline still holds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import type { MessageRecord } from '../../src/store/types.js';
import { classify } from '../../src/upstream/classify.js';
import { parseAnswer } from '../../src/upstream/parse.js';
import { makeRig, states, until, type Rig, type TimedEvent } from './harness.js';

const TOKEN = (id: string) => `tok-${id}`;
const info = (id: string, tenantId: string) => ({ tenantId, accessToken: TOKEN(id), mps: 100, burst: 100 });

async function submitAll(rig: Rig, phoneNumberId: string, count: number, extra: Partial<MessageRecord> = {}): Promise<MessageRecord[]> {
  const out: MessageRecord[] = [];
  for (let i = 0; i < count; i++) out.push(await rig.enqueue({ phoneNumberId, ...extra }));
  for (const r of out) rig.dispatcher.submit(r);
  return out;
}

type Attempt = Extract<TimedEvent, { type: 'attempt' }>;
const attemptsOf = (rig: Rig): Attempt[] => rig.events.filter((e): e is Attempt => e.type === 'attempt');

const allIn = (rig: Rig, records: MessageRecord[], state: string) => async () =>
  (await states(rig.store, records)).every((r) => r.state === state);

describe('Graph rate-limit codes are classified as back-off, never as failures', () => {
  const envelope = (code: number) => JSON.stringify({ error: { message: `(#${code}) Rate limit`, type: 'OAuthException', code, fbtrace_id: 'x' } });
  it.each([
    [80007, 'backoff-number'],
    [613, 'backoff-number'],
    [4, 'backoff-tenant'],
    [17, 'backoff-tenant'],
    [32, 'backoff-tenant'],
  ] as const)('code %i → %s', (code, reaction) => {
    expect(classify(parseAnswer(400, envelope(code)))).toBe(reaction);
  });
  it('a bare 429 (no Graph code) backs off the number', () => {
    expect(classify(parseAnswer(429, 'Too Many Requests'))).toBe('backoff-number');
    expect(classify(parseAnswer(429, '{"error":{"message":"slow down"}}'))).toBe('backoff-number');
  });
});

describe('throttling phases at the simulator', () => {
  let sim: Simulator;
  let rig: Rig | undefined;

  beforeAll(async () => {
    sim = await startSimulator({
      limits: { mps: 500, burst: 500, pairIntervalMs: 0 },
      numbers: ['5001', '5002', '5003', '5004', '5005'].map((id) => ({ phoneNumberId: id, accessToken: TOKEN(id) })),
    });
  });
  afterEach(async () => {
    await rig?.close();
    rig = undefined;
  });
  afterAll(() => sim?.close());

  it('a 3 s 80007 phase: all 40 messages are sent after it, none failed, none counted against maxAttempts', async () => {
    // maxAttempts 1: any throttled attempt that counted would fail its message at once.
    rig = await makeRig({ baseUrl: sim.url, numbers: { '5001': info('5001', 'acme') }, dispatch: { maxAttempts: 1 } });
    sim.setFaults({ phases: [{ code: 80007, startMs: 0, durationMs: 3000 }] }, '5001');
    sim.reset(); // the phase starts now
    const startMs = Date.now();
    const records = await submitAll(rig, '5001', 40);
    await until('all sent', allIn(rig, records, 'sent'), 20_000);

    const n = sim.stats().numbers['5001']!;
    expect(n.accepted).toBe(40);
    expect(n.refused['80007']).toBeGreaterThan(0);
    // After the first answers (requests already under way), only probes meet the limit: one per pause.
    expect(n.refused['80007']).toBeLessThanOrEqual(40 + 4);
    const attempts = attemptsOf(rig).filter((e) => e.phoneNumberId === '5001');
    expect(attempts.filter((e) => e.code === 80007).every((e) => e.reaction === 'backoff-number')).toBe(true);
    const accepted = attempts.filter((e) => e.code === 0);
    expect(Math.min(...accepted.map((e) => e.atMs))).toBeGreaterThanOrEqual(startMs + 3000);
    const final = await states(rig.store, records);
    // With maxAttempts 1, a message tried twice shows throttled attempts are not counted.
    expect(final.some((r) => r.attempts >= 2)).toBe(true);
    expect(final.every((r) => r.lastError === null || r.lastError.code === 80007)).toBe(true);
    expect(rig.warnings.some((w) => /rate limit/.test(w))).toBe(true);
  });

  it('code 4 (app limit) holds every number of the tenant, not other tenants', async () => {
    rig = await makeRig({
      baseUrl: sim.url,
      numbers: { '5002': info('5002', 'acme'), '5003': info('5003', 'acme'), '5004': info('5004', 'beta') },
      dispatch: { maxAttempts: 1 },
    });
    // The sibling has sent before: its lane is known when the limit is met.
    const warm = await submitAll(rig, '5003', 1);
    await until('sibling warm', allIn(rig, warm, 'sent'));
    sim.setFaults({ phases: [{ code: 4, startMs: 0, durationMs: 500 }] }, '5002');
    sim.reset();
    const first = await submitAll(rig, '5002', 5);
    await until('first code 4', () => attemptsOf(rig!).some((e) => e.code === 4));
    const limitedAtMs = attemptsOf(rig).find((e) => e.code === 4)!.atMs;
    const sibling = await submitAll(rig, '5003', 5);
    const other = await submitAll(rig, '5004', 5);
    await until('all sent', async () => (await allIn(rig!, first, 'sent')()) && (await allIn(rig!, sibling, 'sent')()) && (await allIn(rig!, other, 'sent')()), 15_000);

    const firstTry = (id: string) => attemptsOf(rig!).find((e) => e.id === id)!.atMs;
    // The sibling number waited out the tenant's 1 s back-off; the other tenant's number did not.
    expect(Math.min(...sibling.map((r) => firstTry(r.id)))).toBeGreaterThanOrEqual(limitedAtMs + 900);
    expect(Math.max(...other.map((r) => firstTry(r.id)))).toBeLessThan(limitedAtMs + 900);
    expect(sim.stats().numbers['5003']!.refused['4'] ?? 0).toBe(0);
  });

  it('the deadline still holds: a message the back-off outlasts expires with the rate-limit answer', async () => {
    rig = await makeRig({ baseUrl: sim.url, numbers: { '5005': info('5005', 'acme') }, dispatch: { maxAttempts: 1 } });
    sim.setFaults({ phases: [{ code: 80007, startMs: 0, durationMs: 60_000 }] }, '5005');
    sim.reset();
    const [record] = await submitAll(rig, '5005', 1, { deadlineAtMs: Date.now() + 2500 });
    await until('expired', allIn(rig, [record!], 'expired'), 10_000);
    const [r] = await states(rig.store, [record!]);
    expect(r!.lastError).toMatchObject({ code: 80007 });
    expect(sim.stats().numbers['5005']!.accepted).toBe(0);
  });
});

describe('a bare HTTP 429 from a proxy in front of the Cloud API', () => {
  let server: Server;
  let url: string;
  let limitedUntilMs = 0;
  let rig: Rig;

  beforeAll(async () => {
    let seq = 0;
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (Date.now() < limitedUntilMs) {
          res.writeHead(429, { 'content-type': 'text/plain' }).end('Too Many Requests');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ messages: [{ id: `wamid.S${++seq}` }] }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    rig = await makeRig({ baseUrl: url, numbers: { '6001': info('6001', 'acme') }, dispatch: { maxAttempts: 1 } });
  });
  afterAll(async () => {
    await rig?.close();
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('backs the number off and sends everything once the 429s stop', async () => {
    limitedUntilMs = Date.now() + 1500;
    const records = await submitAll(rig, '6001', 20);
    await until('all sent', allIn(rig, records, 'sent'), 15_000);
    const limited = attemptsOf(rig).filter((e) => e.outcome === 'error');
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.every((e) => e.reaction === 'backoff-number')).toBe(true);
  });
});
