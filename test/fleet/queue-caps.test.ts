/**
 * The queue cap of a number holds on every process of a fleet, also on one that does not own the
 * number (its backlog is in Redis, not in that process's lanes): it counts the store every 5 s.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { send, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBER = '5501';
const CAP = 20;
const LEASE_TTL_MS = 1500;

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

describe('queue caps in a fleet', () => {
  it('refuses with 429 QUEUE_FULL on a process that does not own the number', async () => {
    fleet = await startFleet({ gateways: 2, numbers: [NUMBER], mps: 1, burst: 1, pairIntervalMs: 1000, leaseTtlMs: LEASE_TTL_MS, limits: { maxQueuedPerNumber: CAP } });
    const f = fleet;
    const redis = new Redis(f.redis.url);
    try {
      await until('the number leased', async () => (await redis.get(`${f.prefix}:{t:fleet}:lease:${NUMBER}`)) !== null, 10_000);
      const lease = (await redis.get(`${f.prefix}:{t:fleet}:lease:${NUMBER}`))!;
      const ownerPid = Number(lease.split(':').at(-2));
      const owner = f.gateways.find((g) => g.child.process.pid === ownerPid)!;
      const other = f.gateways.find((g) => g !== owner)!;
      // The backlog through the owner (1 msg/s: it stays queued).
      for (let i = 0; i < CAP; i++) expect((await send(owner.url, NUMBER, `+1555501${String(i).padStart(4, '0')}`, `cap ${i}`)).status).toBe(202);
      // The other process counts the store every 5 s (src/fleet/member.ts), then refuses.
      await until('the other process refuses', async () => (await send(other.url, NUMBER, '+15555019999', 'over')).status === 429, 5_000 + LEASE_TTL_MS);
      const refused = await send(other.url, NUMBER, '+15555019998', 'over again');
      expect(refused.status).toBe(429);
      expect((refused.body.error as { code: number }).code).toBe(900431);
      expect(refused.headers['retry-after']).toBeDefined();
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
