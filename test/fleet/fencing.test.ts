/**
 * A gateway stopped with SIGSTOP for longer than its lease, then SIGCONT: meanwhile the others took
 * its numbers; once it runs again it sends nothing under the leases it lost (it stopped sending
 * before they could lapse, and the `sending` commit checks the fencing token in Lua), until it
 * takes a number again with a new lease. Nothing is lost, no limit is broken.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { messageState, send, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBERS = ['5201', '5202', '5203', '5204', '5205', '5206'];
const MPS = 20;
const BURST = 5;
const LEASE_TTL_MS = 2000;
const PER_NUMBER = 100;

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

const leaseKey = (f: Fleet, n: string): string => `${f.prefix}:{t:fleet}:lease:${n}`;
function ownerPid(lease: string | null): number | null {
  if (lease === null) return null;
  const owner = lease.slice(lease.indexOf(' ') + 1).split(':');
  return Number(owner[owner.length - 2]);
}

describe('fencing', () => {
  it('a process stopped past its lease sends nothing under it when it runs again', async () => {
    fleet = await startFleet({ gateways: 3, numbers: NUMBERS, mps: MPS, burst: BURST, pairIntervalMs: 1000, leaseTtlMs: LEASE_TTL_MS });
    const f = fleet;
    const redis = new Redis(f.redis.url);
    try {
      await until('every number leased', async () => (await Promise.all(NUMBERS.map((n) => redis.get(leaseKey(f, n))))).every((l) => l !== null), 10_000);
      const posts: Array<Promise<{ status: number; id: string | null }>> = [];
      for (let i = 0; i < PER_NUMBER * NUMBERS.length; i++) {
        const n = NUMBERS[i % NUMBERS.length]!;
        posts.push(send(f.gateways[i % 3]!.url, n, `+1555${n}${String(i).padStart(4, '0')}`, `fence ${i}`));
      }
      const accepted = await Promise.all(posts);
      expect(accepted.filter((r) => r.status !== 202)).toEqual([]);
      await until('sending under way', async () => (await f.upstream.stats()).totals.accepted >= 60, 20_000);

      // The victim: a process that owns numbers now.
      const leases = await Promise.all(NUMBERS.map((n) => redis.get(leaseKey(f, n))));
      const victim = f.gateways.find((g) => leases.some((l) => ownerPid(l) === g.child.process.pid))!;
      const pid = victim.child.process.pid!;
      const victimNumbers = NUMBERS.filter((_n, i) => ownerPid(leases[i]!) === pid);
      victim.child.process.kill('SIGSTOP');
      // Stopped for three lease TTLs: its numbers move to the others meanwhile.
      await until('its numbers taken over', async () => {
        const now = await Promise.all(victimNumbers.map((n) => redis.get(leaseKey(f, n))));
        return now.every((l) => l !== null && ownerPid(l) !== pid);
      }, LEASE_TTL_MS + 5_000);
      await new Promise((r) => setTimeout(r, LEASE_TTL_MS));
      victim.child.process.kill('SIGCONT');
      const continuedAtMs = Date.now();

      // When (if ever) it holds a lease again: from then on it may send, under that new lease.
      let retakenAtMs = Number.POSITIVE_INFINITY;
      const watch = setInterval(() => {
        void Promise.all(NUMBERS.map((n) => redis.get(leaseKey(f, n)))).then((now) => {
          if (retakenAtMs === Number.POSITIVE_INFINITY && now.some((l) => ownerPid(l) === pid)) retakenAtMs = Date.now();
        });
      }, 20);
      try {
        await until('all sent', async () => (await f.upstream.stats()).totals.accepted >= accepted.length, 60_000);
      } finally {
        clearInterval(watch);
      }
      // Requests it had written before the stop arrive at once after SIGCONT; none may leave later
      // until it holds a lease again.
      const arrivals = await f.upstream.arrivals(victim.index);
      const stale = arrivals.filter((t) => t > continuedAtMs + 300 && t < retakenAtMs);
      expect(stale).toEqual([]);

      // The simulator's count includes duplicates: wait for every record's own `sent` commit too.
      await until('every message recorded sent', async () => {
        const states = await Promise.all(accepted.map((r) => messageState(f.gateways[0]!.url, r.id!)));
        return states.every((s) => s === 'sent');
      }, 15_000);
      const stats = await f.upstream.stats();
      const duplicates = stats.totals.accepted - accepted.length;
      expect(duplicates).toBeLessThanOrEqual(victimNumbers.length * 2 * BURST);
      for (const n of NUMBERS) expect({ n, refused: stats.numbers[n]!.refused }).toEqual({ n, refused: {} });
      console.log(`fencing: victim held ${victimNumbers.length} numbers; after SIGCONT it took a lease again ${retakenAtMs - continuedAtMs} ms later; ${duplicates} duplicates of ${accepted.length}`);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
