/**
 * Pacing policies through the whole gateway, the simulator as the oracle: the pair rate spaces
 * ten messages to one user (the simulator, limited like the gateway, refuses none with 131056)
 * without slowing the number's other recipients, and a young number's backlog leaves no faster
 * than its warm-up cap, everything delivered.
 *
 * Gateway and simulator share one ManualClock. Held, it shows what leaves without waiting (the
 * other recipients; one warm-up window); then it runs in small steps until the rest has gone, and
 * the simulator measures rates on that same clock, so machine load cannot change the result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { Outcome } from '../../src/dispatch/types.js';
import { settleLane } from '../support/e2e-stack.js';
import { API_KEY, NUMBER, eventually, startStack, TOKEN, textBody, type Stack } from '../support/stack.js';

const WARM_NUMBER = '1003';
const PAIR_INTERVAL_MS = 500;
const PAIR_BURST = 2;
const WARM_LIMIT = 8;
const WARM_WINDOW_SEC = 1;
const USER = '+16505550100';

let stack: Stack;
const clock = new ManualClock(Date.now());

beforeAll(async () => {
  const numbers = [
    { phoneNumberId: NUMBER, accessToken: TOKEN, mps: 80, burst: 80 },
    { phoneNumberId: WARM_NUMBER, accessToken: 'EAAG-warm-token', mps: 80, burst: 80, createdAt: new Date(clock.nowMs()).toISOString() },
  ];
  stack = await startStack({
    numbers,
    sim: { clock, limits: { pairIntervalMs: PAIR_INTERVAL_MS, pairBurst: PAIR_BURST } },
    start: { clock },
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
  // Each lane starts in debt: let both reach a full bucket (80 / 80 mps) past a warm-up window.
  await settleLane(stack, clock, NUMBER, 2000);
  await settleLane(stack, clock, WARM_NUMBER, 2000);
});
afterAll(() => stack?.close());

interface Tracked {
  /** The outcome once the message is final (null if it was not within the wait). */
  outcome: Outcome | null | undefined;
  done: Promise<Outcome | null>;
}

/** Posts the sends in order; tracks each message's outcome. */
async function sendAll(bodies: object[], phoneNumberId: string): Promise<Tracked[]> {
  const tracked: Tracked[] = [];
  for (const body of bodies) {
    const res = await stack.send(body, {}, `/v23.0/${phoneNumberId}/messages`);
    expect(res.status).toBe(202);
    const id = res.json.messages[0].id as string;
    const t: Tracked = { outcome: undefined, done: stack.gateway.dispatcher.waitForOutcome(id, 60_000) };
    void t.done.then((o) => { t.outcome = o; });
    tracked.push(t);
  }
  return tracked;
}

const allDone = (ts: Tracked[]) => ts.every((t) => t.outcome !== undefined);

/** Moves the shared clock in small steps (each given a moment to act on) until `done`. */
async function runClockUntil(done: () => boolean, stepMs = 50): Promise<void> {
  await eventually(() => {
    if (done()) return true;
    clock.advance(stepMs);
    return undefined;
  }, 25_000);
}

describe('pacing policies through the gateway', () => {
  it('pair rate: ten messages to one user are spaced, none refused; other recipients are not slowed', async () => {
    const heldAtMs = clock.nowMs();
    const mine = await sendAll(Array.from({ length: 10 }, (_, i) => textBody(USER, `update ${i}`)), NUMBER);
    const others = await sendAll(Array.from({ length: 10 }, (_, i) => textBody(`+1650555020${i}`, 'hello')), NUMBER);

    // The clock is held: all ten others reach the upstream; the user gets at most the pair burst.
    await eventually(() => (allDone(others) ? true : undefined));
    expect(clock.nowMs()).toBe(heldAtMs);
    expect(others.every((o) => o.outcome?.state === 'sent')).toBe(true);
    expect(stack.sim.stats().pairs[NUMBER]![USER.slice(1)]!.accepted).toBeLessThanOrEqual(PAIR_BURST);
    expect(stack.sim.stats().numbers[NUMBER]!.refused).toEqual({}); // held by the gateway, not refused upstream

    await runClockUntil(() => allDone(mine));
    expect(mine.every((o) => o.outcome?.state === 'sent')).toBe(true);
    // The upstream, limited like the gateway and on the same clock, refused none of them.
    const stats = stack.sim.stats();
    const user = stats.pairs[NUMBER]![USER.slice(1)]!;
    expect(user).toMatchObject({ accepted: 10, refused: 0 });
    expect(user.maxInWindow).toBeLessThanOrEqual(PAIR_BURST);
    expect(stats.numbers[NUMBER]!.refused).toEqual({});
    // Ten at one per 500 ms, a burst of 2 at most: at least eight intervals of the clock went by.
    expect(clock.nowMs() - heldAtMs).toBeGreaterThanOrEqual((10 - PAIR_BURST) * PAIR_INTERVAL_MS);
  });

  it(`warm-up: a backlog of 40 on a young number never exceeds ${WARM_LIMIT} per ${WARM_WINDOW_SEC} s, all delivered`, async () => {
    const sends = await sendAll(Array.from({ length: 40 }, (_, i) => textBody(`+1650555${String(3000 + i)}`, 'welcome')), WARM_NUMBER);
    // The clock is held: one window's worth leaves.
    await eventually(() => (sends.filter((t) => t.outcome !== undefined).length === WARM_LIMIT ? true : undefined));
    expect(stack.sim.stats().numbers[WARM_NUMBER]!.accepted).toBe(WARM_LIMIT);

    await runClockUntil(() => allDone(sends));
    expect(sends.every((o) => o.outcome?.state === 'sent')).toBe(true);
    const n = stack.sim.stats().numbers[WARM_NUMBER]!;
    expect(n.accepted).toBe(40);
    expect(n.refused).toEqual({});
    expect(n.maxPerSec).toBeLessThanOrEqual(WARM_LIMIT);
    // Five windows' worth: the last eight leave at least four windows after the first eight.
    expect(n.lastAcceptMs! - n.firstAcceptMs!).toBeGreaterThanOrEqual(4 * WARM_WINDOW_SEC * 1000);
  });
});
