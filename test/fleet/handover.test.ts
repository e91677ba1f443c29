/**
 * Three gateway processes on one Redis, a backlog on 8 numbers posted round robin to all three;
 * one process is killed with SIGKILL mid-drain while the others keep taking sends. Every accepted
 * message is delivered; duplicates only from sends in flight at the kill; the simulator saw no
 * throughput (130429) or pair-rate (131056) violation across the handover; the dead process's
 * numbers send again within lease TTL + 5 s.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { messageState, send, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBERS = ['5101', '5102', '5103', '5104', '5105', '5106', '5107', '5108'];
const MPS = 20;
const BURST = 5;
const PAIR_MS = 1000;
const LEASE_TTL_MS = 3000;
/** Each recipient gets several messages, so the pair rate matters across the handover. */
const RECIPIENTS_PER_NUMBER = 10;
const PER_NUMBER = 120;

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

/** The pid in a lease's owner (`<token> <host>:<pid>:<random>`). */
function ownerPid(lease: string | null): number | null {
  if (lease === null) return null;
  const owner = lease.slice(lease.indexOf(' ') + 1).split(':');
  return Number(owner[owner.length - 2]);
}

describe('a fleet of three gateways on one Redis', () => {
  it('loses nothing and keeps every limit when a process is killed mid-drain', async () => {
    fleet = await startFleet({ gateways: 3, numbers: NUMBERS, mps: MPS, burst: BURST, pairIntervalMs: PAIR_MS, leaseTtlMs: LEASE_TTL_MS });
    const f = fleet;
    const redis = new Redis(f.redis.url);
    try {
      // Every number is owned by someone once the fleet settles.
      await until('every number leased', async () => {
        const leases = await Promise.all(NUMBERS.map((n) => redis.get(`${f.prefix}:{t:fleet}:lease:${n}`)));
        return leases.every((l) => l !== null);
      }, 10_000);

      const ids: string[] = [];
      let posted = 0;
      // In batches: a burst of hundreds of concurrent sends saturates the two cores and bunches
      // what the gateways send, which the simulator would count against them.
      const post = async (gateways: readonly number[], count: number): Promise<void> => {
        for (let done = 0; done < count; done += 48) await postBatch(gateways, Math.min(48, count - done));
      };
      const postBatch = async (gateways: readonly number[], count: number): Promise<void> => {
        const batch: Array<Promise<void>> = [];
        for (let k = 0; k < count; k++) {
          const i = posted++;
          const number = NUMBERS[i % NUMBERS.length]!;
          const to = `+1555${number}${String(Math.floor(i / NUMBERS.length) % RECIPIENTS_PER_NUMBER).padStart(3, '0')}`;
          const g = f.gateways[gateways[i % gateways.length]!]!;
          batch.push(send(g.url, number, to, `fleet ${i}`).then((r) => {
            expect(r.status).toBe(202);
            ids.push(r.id!);
          }));
        }
        await Promise.all(batch);
      };
      await post([0, 1, 2], (PER_NUMBER * NUMBERS.length) / 2);

      // Mid-drain: the victim owns some numbers and they are sending.
      await until('some delivered', async () => (await f.upstream.stats()).totals.accepted >= 100, 20_000);
      // The victim: the process owning the most numbers (hashing may leave one with none).
      const leases = await Promise.all(NUMBERS.map((n) => redis.get(`${f.prefix}:{t:fleet}:lease:${n}`)));
      const owned = (g: (typeof f.gateways)[number]): number => leases.filter((l) => ownerPid(l) === g.child.process.pid).length;
      const victim = [...f.gateways].sort((a, b) => owned(b) - owned(a))[0]!.index;
      const victimPid = f.gateways[victim]!.child.process.pid!;
      const victimNumbers = NUMBERS.filter((_n, i) => ownerPid(leases[i]!) === victimPid);
      expect(victimNumbers.length).toBeGreaterThan(0);
      const atKill = await f.upstream.stats();
      const acceptedAtKill = Object.fromEntries(victimNumbers.map((n) => [n, atKill.numbers[n]!.accepted]));
      await f.kill9(victim);
      const killedAtMs = Date.now();

      // The others keep taking sends meanwhile.
      await post([0, 1, 2].filter((i) => i !== victim), (PER_NUMBER * NUMBERS.length) / 2);

      // The victim's numbers send again within lease TTL + 5 s.
      await until('the dead process\'s numbers resume', async () => {
        const now = await f.upstream.stats();
        return victimNumbers.every((n) => now.numbers[n]!.accepted > acceptedAtKill[n]!);
      }, LEASE_TTL_MS + 5_000);
      const resumedAfterMs = Date.now() - killedAtMs;

      // Every accepted message is delivered (sent), wherever it was accepted.
      await until('all sent', async () => (await f.upstream.stats()).totals.accepted >= ids.length, 60_000);
      // The simulator's count includes duplicates: wait for every record's own `sent` commit too.
      await until('every message recorded sent', async () => {
        const states = await Promise.all(ids.map((id) => messageState(f.gateways[(victim + 1) % 3]!.url, id)));
        return states.every((s) => s === 'sent' || s === 'delivered' || s === 'read');
      }, 15_000);

      const stats = await f.upstream.stats();
      console.log('victim numbers', victimNumbers, NUMBERS.map((n) => `${n}:${JSON.stringify(stats.numbers[n]!.refused)}`).join(' '));
      const duplicates = stats.totals.accepted - ids.length;
      // Only sends the victim had in flight when it died can go twice (its window is small).
      expect(duplicates).toBeGreaterThanOrEqual(0);
      // Only messages the victim had committed as `sending` (its look-ahead: about a bucket per number) can go twice.
      expect(duplicates).toBeLessThanOrEqual(victimNumbers.length * 2 * BURST);
      for (const n of NUMBERS) {
        const s = stats.numbers[n]!;
        expect({ n, refused: s.refused }).toEqual({ n, refused: {} });
        expect(s.maxPerSec).toBeLessThanOrEqual(MPS + BURST);
        expect(s.maxPairInWindow).toBeLessThanOrEqual(1);
      }
      console.log(`fleet handover: victim owned ${victimNumbers.length} numbers; resumed ${resumedAfterMs} ms after kill -9 (lease TTL ${LEASE_TTL_MS} ms); ${duplicates} duplicates of ${ids.length}`);
    } finally {
      redis.disconnect();
    }
  }, 120_000);
});
