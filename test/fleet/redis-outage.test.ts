/**
 * Redis killed with SIGKILL under two running gateways, then restarted on its AOF: while it is down
 * sends answer 503 (nothing accepted that is not durable); every message accepted before the kill
 * and after the restart is delivered; the gateways go on without restarting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { messageState, send, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBERS = ['5401', '5402', '5403'];

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

describe('Redis outage', () => {
  it('answers 503 while Redis is down and resumes on its own after it comes back', async () => {
    fleet = await startFleet({ gateways: 2, numbers: NUMBERS, mps: 5, burst: 2, pairIntervalMs: 1000, leaseTtlMs: 3000 });
    const f = fleet;
    const pids = f.gateways.map((g) => g.child.process.pid);
    const accepted: string[] = [];
    const post = async (i: number): Promise<number> => {
      const n = NUMBERS[i % NUMBERS.length]!;
      const r = await send(f.gateways[i % 2]!.url, n, `+1555${n}${String(i).padStart(4, '0')}`, `outage ${i}`);
      if (r.status === 202) accepted.push(r.id!);
      return r.status;
    };
    // A backlog (slow numbers), so messages are queued in Redis when it dies.
    const before = await Promise.all(Array.from({ length: 60 }, (_, i) => post(i)));
    expect(before.filter((s) => s !== 202)).toEqual([]);

    await f.redis.kill9();
    const down = await Promise.all(Array.from({ length: 10 }, (_, i) => post(1000 + i)));
    expect(down).toEqual(Array(10).fill(503));

    await f.redis.restart();
    // The same processes take sends again once each has reconnected (ioredis retries within a second).
    let probe = 2000;
    await until('sends accepted again by both', async () => (await Promise.all([post(probe++ * 2), post(probe++ * 2 + 1)])).every((s) => s === 202), 15_000);
    const after = await Promise.all(Array.from({ length: 30 }, (_, i) => post(3000 + i)));
    expect(after.filter((s) => s !== 202)).toEqual([]);
    expect(f.gateways.map((g) => g.child.process.pid)).toEqual(pids);
    expect(f.gateways.every((g) => g.child.process.exitCode === null)).toBe(true);

    // Everything accepted, before the kill and after the restart, is sent.
    await until('all accepted sent', async () => {
      const states = await Promise.all(accepted.map((id) => messageState(f.gateways[0]!.url, id)));
      return states.every((s) => s === 'sent');
    }, 60_000);
    const stats = await f.upstream.stats();
    expect(stats.totals.accepted).toBeGreaterThanOrEqual(accepted.length);
    for (const n of NUMBERS) expect({ n, refused: stats.numbers[n]!.refused }).toEqual({ n, refused: {} });
  }, 120_000);
});
