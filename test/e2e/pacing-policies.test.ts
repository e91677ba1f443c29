/**
 * Pacing policies through the whole gateway, the simulator as the oracle: the pair rate spaces
 * ten messages to one user (the simulator, limited like the gateway, refuses none with 131056)
 * without slowing the number's other recipients, and a young number's backlog leaves no faster
 * than its warm-up cap, everything delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Outcome } from '../../src/dispatch/types.js';
import { API_KEY, NUMBER, startStack, TOKEN, textBody, type Stack } from '../support/stack.js';

const WARM_NUMBER = '1003';
const PAIR_INTERVAL_MS = 500;
const PAIR_BURST = 2;
const WARM_LIMIT = 8;
const WARM_WINDOW_SEC = 1;
const USER = '+16505550100';

let stack: Stack;

beforeAll(async () => {
  const numbers = [
    { phoneNumberId: NUMBER, accessToken: TOKEN, mps: 80, burst: 80 },
    { phoneNumberId: WARM_NUMBER, accessToken: 'EAAG-warm-token', mps: 80, burst: 80, createdAt: new Date().toISOString() },
  ];
  stack = await startStack({
    numbers,
    sim: { limits: { pairIntervalMs: PAIR_INTERVAL_MS, pairBurst: PAIR_BURST } },
    gateway: {
      tenants: [{
        id: 'acme',
        apiKeys: [API_KEY],
        policy: {
          pairRate: { intervalSec: PAIR_INTERVAL_MS / 1000, burst: PAIR_BURST },
          warmup: { windowSec: WARM_WINDOW_SEC, steps: [{ untilDays: 1, limit: WARM_LIMIT }] },
        },
        numbers,
      }],
    },
  });
});
afterAll(() => stack?.close());

/** Posts the sends in order; resolves with each message's outcome and when it arrived here. */
async function sendAll(bodies: object[], phoneNumberId: string): Promise<Array<Promise<{ outcome: Outcome | null; atMs: number }>>> {
  const outcomes: Array<Promise<{ outcome: Outcome | null; atMs: number }>> = [];
  for (const body of bodies) {
    const res = await stack.send(body, {}, `/v23.0/${phoneNumberId}/messages`);
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    outcomes.push(stack.gateway.dispatcher.waitForOutcome(id, 15_000).then((outcome) => ({ outcome, atMs: Date.now() })));
  }
  return outcomes;
}

describe('pacing policies through the gateway', () => {
  it('pair rate: ten messages to one user are spaced, none refused; other recipients are not slowed', async () => {
    const startMs = Date.now();
    const mine = await sendAll(Array.from({ length: 10 }, (_, i) => textBody(USER, `update ${i}`)), NUMBER);
    const others = await sendAll(Array.from({ length: 10 }, (_, i) => textBody(`+1650555020${i}`, 'hello')), NUMBER);

    const othersDone = await Promise.all(others);
    expect(othersDone.every((o) => o.outcome?.state === 'sent')).toBe(true);
    const othersMs = Math.max(...othersDone.map((o) => o.atMs)) - startMs;
    const mineDone = await Promise.all(mine);
    expect(mineDone.every((o) => o.outcome?.state === 'sent')).toBe(true);
    const firstMs = Math.min(...mineDone.map((o) => o.atMs));
    const spanMs = Math.max(...mineDone.map((o) => o.atMs)) - firstMs;
    // Ten sends at one per 500 ms: even a full bucket of 2 leaves 8 intervals between first and last.
    expect(spanMs).toBeGreaterThanOrEqual((10 - PAIR_BURST) * PAIR_INTERVAL_MS);
    expect(othersMs).toBeLessThan(spanMs / 2);

    const stats = stack.sim.stats();
    const user = stats.pairs[NUMBER]![USER.slice(1)]!;
    expect(user).toMatchObject({ accepted: 10, refused: 0 });
    expect(user.maxInWindow).toBeLessThanOrEqual(PAIR_BURST);
    expect(stats.numbers[NUMBER]!.refused['131056'] ?? 0).toBe(0);
    console.log(`pair rate: 10 to one user over ${spanMs} ms (max ${user.maxInWindow} per ${PAIR_INTERVAL_MS} ms); 10 others done in ${othersMs} ms`);
  });

  it(`warm-up: a backlog of 40 on a young number never exceeds ${WARM_LIMIT} per ${WARM_WINDOW_SEC} s, all delivered`, async () => {
    const done = await Promise.all(await sendAll(Array.from({ length: 40 }, (_, i) => textBody(`+1650555${String(3000 + i)}`, 'welcome')), WARM_NUMBER));
    expect(done.every((o) => o.outcome?.state === 'sent')).toBe(true);
    const n = stack.sim.stats().numbers[WARM_NUMBER]!;
    expect(n.accepted).toBe(40);
    expect(n.refused).toEqual({});
    expect(n.maxPerSec).toBeLessThanOrEqual(WARM_LIMIT);
    // Five windows' worth: the last eight leave at least four windows after the first eight.
    const spanMs = n.lastAcceptMs! - n.firstAcceptMs!;
    expect(spanMs).toBeGreaterThanOrEqual(4 * WARM_WINDOW_SEC * 1000);
    console.log(`warm-up: 40 sends over ${spanMs} ms, at most ${n.maxPerSec} in any 1 s (cap ${WARM_LIMIT})`);
  });
});
