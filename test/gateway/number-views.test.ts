/**
 * The admin view of numbers: live lanes for numbers this process dispatches, and in a fleet the
 * store's queue, the durable control state and the lease holder for numbers another process owns
 * (against a real redis-server).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { LaneView, NumberInfo } from '../../src/dispatch/types.js';
import { numberViews } from '../../src/gateway/number-views.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisLeases } from '../../src/store/redis/leases.js';
import { storedNumberState } from '../../src/store/redis/number-state.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import type { ControlEntry } from '../../src/store/types.js';
import { message } from '../store/conformance.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const T0 = 1_700_000_000_000;
const info = (tenantId: string, mps = 80): NumberInfo => ({ tenantId, accessToken: 'x', mps, burst: mps });

const lane = (over: Partial<LaneView>): LaneView => ({
  phoneNumberId: '1001', tenantId: 'acme', depth: 0, oldestAgeMs: 0, effectiveMps: 80, configuredMps: 80, burst: 80, paused: false,
  pausedUntilMs: 0, inFlight: 0, parkedRecipients: 0, inFlightLimit: 8, latencyP50Ms: Number.NaN, latencyP99Ms: Number.NaN, pause: null, tenantPause: null,
  ...over,
});

describe('number views', () => {
  it('one process: every configured number from its lane (zeros before it has one), with why it is paused', async () => {
    const clock = new ManualClock(T0);
    const views = await numberViews({
      numbers: new Map([['1001', info('acme')], ['1002', info('acme', 20)], ['2001', info('globex')]]),
      lanes: () => [
        lane({ depth: 12, oldestAgeMs: 4_500, effectiveMps: 40, inFlight: 3, pause: { by: 'upstream', code: 131048, atMs: T0 - 1000 } }),
        lane({ phoneNumberId: '2001', tenantId: 'globex', tenantPause: { by: 'upstream', code: 190, atMs: T0 } }),
      ],
      headroom: 1, clock, sent: new Map([['1001', 7]]),
    });
    expect(views.map((v) => v.phone_number_id)).toEqual(['1001', '1002', '2001']);
    expect(views[0]).toEqual({
      phone_number_id: '1001', tenant: 'acme', mps: 80, burst: 80, effective_mps: 40, queue_depth: 12, oldest_queued_age_sec: 4.5, in_flight: 3,
      sent_total: 7, paused: { by: 'upstream', code: 131048, since: new Date(T0 - 1000).toISOString(), scope: 'number' },
    });
    expect(views[1]).toMatchObject({ mps: 20, queue_depth: 0, in_flight: 0, sent_total: 0, paused: null });
    expect(views[2]!.paused).toMatchObject({ by: 'upstream', code: 190, scope: 'tenant' });
  });

  it('a fleet: numbers held here from the lanes, the others from the control state', async () => {
    const clock = new ManualClock(T0);
    const control: ControlEntry[] = [
      { key: 'operator:1002', value: { overrides: { mps: 10, burst: 5 } }, updatedAtMs: T0 },
      { key: 'number:1002', value: { pausedUntilMs: T0 + 60_000 }, updatedAtMs: T0 },
      // Paused by 131048, then an operator resumed it: no longer paused.
      { key: 'number:1003', value: { paused: { by: 'upstream', code: 131048, atMs: T0 - 5000 } }, updatedAtMs: T0 },
      { key: 'operator:1003', value: { resumedAtMs: T0 - 1000 }, updatedAtMs: T0 },
      { key: 'tenant:globex', value: { paused: { by: 'operator', atMs: T0 - 10 } }, updatedAtMs: T0 },
    ];
    const views = await numberViews({
      numbers: new Map([['1001', info('acme')], ['1002', info('acme')], ['1003', info('acme')], ['2001', info('globex')]]),
      lanes: () => [lane({ depth: 1 })],
      headroom: 0.5, clock, sent: new Map(),
      fleet: {
        memberId: 'me', holds: (id) => id === '1001', controlEntries: async () => control,
        stored: async (_tenantId, id) => ({ depth: id === '1002' ? 40 : 0, oldestCreatedAtMs: id === '1002' ? T0 - 3000 : null, owner: id === '2001' ? null : 'other' }),
      },
    });
    const [mine, slowed, resumed, globex] = views;
    expect(mine).toMatchObject({ queue_depth: 1, owner: 'me', in_flight: 0 });
    expect(slowed).toMatchObject({ mps: 10, burst: 5, effective_mps: 5, queue_depth: 40, oldest_queued_age_sec: 3, in_flight: null, sent_total: null, owner: 'other' });
    expect(slowed!.paused).toEqual({ by: 'upstream', until: new Date(T0 + 60_000).toISOString(), scope: 'number' });
    expect(resumed!.paused).toBeNull();
    expect(globex).toMatchObject({ owner: null, paused: { by: 'operator', scope: 'tenant' } });
  });
});

describe('storedNumberState (redis)', () => {
  let server: RedisServer;
  let store: RedisStore;
  beforeAll(async () => {
    server = await startRedis();
    store = await RedisStore.open({ target: parseRedisUrl(server.url), clock: new ManualClock(T0), prefix: `nv-${randomBytes(4).toString('hex')}` });
  });
  afterAll(async () => {
    await store?.close();
    await server?.stop();
  });

  it('counts the number\'s queue, finds its oldest message and the lease holder', async () => {
    expect(await storedNumberState(store, 'acme', '1001')).toEqual({ depth: 0, oldestCreatedAtMs: null, owner: null });
    await store.enqueue(message({ createdAtMs: T0 - 500, priority: 1 }));
    await store.enqueue(message({ createdAtMs: T0 - 900, priority: 0 }));
    await store.enqueue(message({ createdAtMs: T0 - 100, priority: 1 }));
    const leases = new RedisLeases(store.run);
    expect(await leases.acquire(store.keys.numberLease('acme', '1001'), store.keys.numberFence('acme', '1001'), 'host:42:abcd', 10_000)).not.toBeNull();
    expect(await storedNumberState(store, 'acme', '1001')).toEqual({ depth: 3, oldestCreatedAtMs: T0 - 900, owner: 'host:42:abcd' });
  });
});
