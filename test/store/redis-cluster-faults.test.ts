/**
 * The Redis store on a real 3-master Cluster when one master is killed -9 and restarted on its
 * dir and port: tenants whose slot it serves get STORAGE_UNAVAILABLE meanwhile (never a hang),
 * the other tenants go on, and once it is back every tenant is served by the same store and every
 * acknowledged enqueue is there.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { GatewayError } from '../../src/errors.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-server.js';
import { message } from './conformance.js';

let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster();
});

afterAll(async () => {
  await cluster?.stop();
});

const tenants = Array.from({ length: 24 }, (_v, i) => `tenant-${i}`);

/** One enqueue per tenant; which were acknowledged, which refused (and with what). */
async function round(store: RedisStore): Promise<{ acked: NewMessage[]; refused: unknown[] }> {
  const batch = tenants.map((tenantId) => message({ tenantId, phoneNumberId: `7${tenants.indexOf(tenantId)}` }));
  const outcomes = await Promise.allSettled(batch.map((m) => store.enqueue(m)));
  return {
    acked: batch.filter((_m, i) => outcomes[i]!.status === 'fulfilled'),
    refused: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason] : [])),
  };
}

it('serves the other masters while one is down, and every tenant again once it is back', async () => {
  const store = await RedisStore.open({
    target: parseRedisUrl(cluster.url), clock: new ManualClock(), prefix: `test-${randomBytes(6).toString('hex')}`, commandTimeoutMs: 2_000,
  });
  try {
    const acked: NewMessage[] = [];
    const first = await round(store);
    expect(first.refused).toEqual([]);
    acked.push(...first.acked);

    await cluster.servers[0]!.kill9();
    const started = Date.now();
    const down = await round(store);
    expect(Date.now() - started).toBeLessThan(5_000);
    // About a third of the tenants hash to the dead master's slots.
    expect(down.refused.length).toBeGreaterThan(0);
    expect(down.acked.length).toBeGreaterThan(0);
    for (const error of down.refused) expect((error as GatewayError).code).toBe('STORAGE_UNAVAILABLE');
    acked.push(...down.acked);

    await cluster.servers[0]!.restart();
    const deadline = Date.now() + 15_000;
    let back = await round(store);
    while (back.refused.length > 0 && Date.now() < deadline) {
      acked.push(...back.acked);
      await new Promise((r) => setTimeout(r, 200));
      back = await round(store);
    }
    expect(back.refused).toEqual([]);
    acked.push(...back.acked);

    const found = await Promise.all(acked.map((m) => store.get(m.tenantId, m.id)));
    expect(acked.filter((_m, i) => found[i] === null)).toEqual([]);
  } finally {
    await store.close();
  }
});
