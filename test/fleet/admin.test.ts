/**
 * The admin API on any process of a fleet: a pause sent to a process that does not own the number
 * stops the owner; a resume sent there starts it again. The pause is stored, so it also holds for
 * whoever owns the number next.
 */
import { Redis } from 'ioredis';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN, send, startFleet, until, type Fleet } from '../support/fleet.js';

const NUMBER = '5601';

let fleet: Fleet | undefined;
afterAll(async () => {
  await fleet?.stop();
});

async function admin(url: string, action: 'pause' | 'resume'): Promise<number> {
  const res = await request(`${url}/admin/numbers/${NUMBER}/${action}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  await res.body.dump();
  return res.statusCode;
}

describe('admin API in a fleet', () => {
  it('a pause and a resume sent to a process that does not own the number steer its owner', async () => {
    fleet = await startFleet({ gateways: 2, numbers: [NUMBER], mps: 5, burst: 1, pairIntervalMs: 1000, leaseTtlMs: 3000 });
    const f = fleet;
    const redis = new Redis(f.redis.url);
    try {
      await until('the number leased', async () => (await redis.get(`${f.prefix}:{t:fleet}:lease:${NUMBER}`)) !== null, 10_000);
      const ownerPid = Number((await redis.get(`${f.prefix}:{t:fleet}:lease:${NUMBER}`))!.split(':').at(-2));
      const other = f.gateways.find((g) => g.child.process.pid !== ownerPid)!;
      for (let i = 0; i < 60; i++) expect((await send(other.url, NUMBER, `+1555560${String(i).padStart(4, '0')}`, `admin ${i}`)).status).toBe(202);
      await until('sending', async () => ((await f.upstream.stats()).numbers[NUMBER]?.accepted ?? 0) >= 3, 10_000);

      expect(await admin(other.url, 'pause')).toBeLessThan(300);
      // Requests already committed may still leave; then nothing for well over the rate's interval.
      await new Promise((r) => setTimeout(r, 1000));
      const atPause = (await f.upstream.stats()).numbers[NUMBER]!.accepted;
      await new Promise((r) => setTimeout(r, 2000));
      expect((await f.upstream.stats()).numbers[NUMBER]!.accepted).toBe(atPause);

      expect(await admin(other.url, 'resume')).toBeLessThan(300);
      await until('sending again', async () => (await f.upstream.stats()).numbers[NUMBER]!.accepted > atPause + 2, 10_000);
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});
