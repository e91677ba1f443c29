/**
 * A fleet's policy: two engines (two processes' worth: each its own WASM core and Redis client)
 * sharing one real redis-server, and one real 3-master Cluster. What one records, the other
 * honours: the messaging limit and repeated content are counted once for both, consent, windows,
 * deferrals and first sends recorded through one are seen by the other, at admission (a read) and
 * at departure (the change feed). Each test has its own key prefix.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import type { AdmitInput } from '../../src/gateway/ports.js';
import { createSharedPolicyEngine, openRedisPolicyStore, type SharedPolicyEngine } from '../../src/policy/index.js';
import type { RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../support/redis-server.js';
import { NUMBER, NUMBER2, recipient, T0, TENANT, template, testConfig, text, type HarnessOptions } from './harness.js';

let server: RedisServer;
let cluster: RedisCluster;
const clients: RedisClient[] = [];
const engines: SharedPolicyEngine[] = [];

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
});

afterAll(async () => {
  await Promise.all(engines.map((e) => e.close()));
  for (const c of clients) c.disconnect();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

interface Fleet {
  a: SharedPolicyEngine;
  b: SharedPolicyEngine;
  clock: ManualClock;
  keys: RedisKeys;
  config: ReturnType<typeof testConfig>;
  send(engine: SharedPolicyEngine, to: string, body: Record<string, unknown>, extra?: Partial<AdmitInput>): ReturnType<SharedPolicyEngine['admitAsync']>;
}

async function fleet(options: HarnessOptions & { url?: string } = {}): Promise<Fleet> {
  const config = testConfig(options);
  const clock = new ManualClock(T0);
  const keys = new RedisKeys(`fleet-${randomBytes(6).toString('hex')}`);
  const open = async (): Promise<SharedPolicyEngine> => {
    const client = await connectRedis(parseRedisUrl(options.url ?? server.url));
    clients.push(client);
    const engine = await createSharedPolicyEngine({
      config, clock, client, keys, core: await loadCore(config.core), store: openRedisPolicyStore({ client, keys, config }), usageRefreshMs: 0,
      onError: (err, what) => {
        throw new Error(`${what}: ${String(err)}`);
      },
    });
    engines.push(engine);
    return engine;
  };
  const [a, b] = [await open(), await open()];
  return {
    a, b, clock, keys, config,
    send: (engine, to, body, extra = {}) => engine.admitAsync({
      tenantId: TENANT, phoneNumberId: NUMBER, to, body, category: body['type'] === 'template' ? 'marketing' : 'service', nowMs: clock.nowMs(), ...extra,
    }),
  };
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    return (error as { code: string }).code;
  }
  return 'admitted';
}

/** Waits for what the change feed carries (pub/sub: delivered within milliseconds). */
async function eventually(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not seen through the change feed within 5 s');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('two policy engines on one Redis', () => {
  for (const where of ['redis-server', 'cluster (3 masters)'] as const) {
    it(`${where}: a limit of 250 with 300 new recipients admitted alternately through both → exactly 250`, async () => {
      const f = await fleet({ tenant: { messagingLimit: 250 }, url: where === 'redis-server' ? server.url : cluster.url });
      const outcomes = await Promise.all(Array.from({ length: 300 }, (_, i) => refusal(f.send(i % 2 === 0 ? f.a : f.b, recipient(i), template()))));
      expect(outcomes.filter((o) => o === 'admitted')).toHaveLength(250);
      expect(outcomes.filter((o) => o === 'MESSAGING_LIMIT_REACHED')).toHaveLength(50);
      // A recipient already counted is admitted by either, and costs nothing more.
      expect(await refusal(f.send(f.b, recipient(0), template()))).toBe('admitted');
      expect(await refusal(f.send(f.a, recipient(1), template()))).toBe('admitted');
    });
  }

  for (const where of ['redis-server', 'cluster (3 masters)'] as const) it(`${where}: an opt-out recorded through A refuses a marketing send admitted through B, and B refuses it at departure`, async () => {
    const f = await fleet({ url: where === 'redis-server' ? server.url : cluster.url });
    const to = recipient(7);
    expect(await refusal(f.send(f.b, to, template()))).toBe('admitted');
    expect(await f.a.recordConsentAsync([{ tenantId: TENANT, recipient: to, status: 'opt_out', source: 'api', atMs: f.clock.nowMs() }])).toBe(1);
    expect(await refusal(f.send(f.b, to, template()))).toBe('RECIPIENT_OPTED_OUT');
    // Utility templates still go.
    expect(await refusal(f.send(f.b, to, template('otp', ['123456']), { category: 'utility' }))).toBe('admitted');
    // B owns the number: the queued marketing template is refused at departure, with no read.
    await eventually(() => f.b.departureRefusal({ phoneNumberId: NUMBER, to, marketing: true, nowMs: f.clock.nowMs() })?.code === 'RECIPIENT_OPTED_OUT');
    expect((await f.b.consentOfAsync(TENANT, to)).current?.status).toBe('opt_out');
    // An opt-in recorded later through B lifts it for A.
    f.clock.advance(1000);
    await f.b.recordConsentAsync([{ tenantId: TENANT, recipient: to, status: 'opt_in', source: 'api', atMs: f.clock.nowMs() }]);
    expect(await refusal(f.send(f.a, to, template()))).toBe('admitted');
    await eventually(() => f.a.departureRefusal({ phoneNumberId: NUMBER, to, marketing: true, nowMs: f.clock.nowMs() }) === null);
  });


  it('after its feed connection drops, an engine reloads the current opt-outs (what it may have missed)', async () => {
    const f = await fleet();
    const to = recipient(13);
    // Recorded by a process that tells no one (as if its message was lost while B was away).
    const client = clients[clients.length - 1]!;
    await openRedisPolicyStore({ client, keys: f.keys, config: f.config }).putConsent(
      [{ tenantId: TENANT, recipient: to, status: 'opt_out', source: 'api', atMs: f.clock.nowMs() }], f.clock.nowMs());
    expect(f.b.departureRefusal({ phoneNumberId: NUMBER, to, marketing: true, nowMs: f.clock.nowMs() })).toBeNull();
    await client.client('KILL', 'TYPE', 'pubsub');
    await eventually(() => f.b.departureRefusal({ phoneNumberId: NUMBER, to, marketing: true, nowMs: f.clock.nowMs() })?.code === 'RECIPIENT_OPTED_OUT');
  });

  it('an opt-out word received at A (inbound) is honoured by B; a booting engine loads current opt-outs', async () => {
    const f = await fleet();
    const to = recipient(8);
    await f.a.onInbound({ phoneNumberId: NUMBER, from: to, text: 'STOP', timestampMs: f.clock.nowMs() });
    expect(await refusal(f.send(f.b, to, template()))).toBe('RECIPIENT_OPTED_OUT');
    await eventually(() => f.b.departureRefusal({ phoneNumberId: NUMBER, to, marketing: true, nowMs: f.clock.nowMs() }) !== null);
  });

  it('a service window opened by an inbound message at A admits free-form sends at B', async () => {
    const f = await fleet();
    const to = recipient(9);
    expect(await refusal(f.send(f.b, to, text('hello')))).toBe('OUTSIDE_SERVICE_WINDOW');
    await f.a.onInbound({ phoneNumberId: NUMBER, from: to, text: 'hi', timestampMs: f.clock.nowMs() });
    expect(await refusal(f.send(f.b, to, text('hello')))).toBe('admitted');
    // The window is the number's: the tenant's other number still has none.
    expect(await refusal(f.send(f.b, to, text('hello'), { phoneNumberId: NUMBER2 }))).toBe('OUTSIDE_SERVICE_WINDOW');
    // 24 h later it has closed.
    f.clock.advance(24 * 3_600_000);
    expect(await refusal(f.send(f.a, to, text('hello')))).toBe('OUTSIDE_SERVICE_WINDOW');
  });

  it('a template admitted inside a window seen only through the feed is not charged at departure', async () => {
    const f = await fleet({ tenant: { messagingLimit: 250 } });
    const to = recipient(10);
    await f.a.onInbound({ phoneNumberId: NUMBER, from: to, text: 'hi', timestampMs: f.clock.nowMs() });
    await eventually(() => f.b.departureRefusal({ phoneNumberId: NUMBER, to, marketing: false, nowMs: f.clock.nowMs() }) === null);
  });

  it('departure charges a template whose window closed against the fleet\'s count: refused once the tier filled elsewhere', async () => {
    const f = await fleet();
    for (const e of [f.a, f.b]) e.setMessagingLimit(TENANT, 1);
    const [inside, other] = [recipient(14), recipient(15)];
    await f.a.onInbound({ phoneNumberId: NUMBER, from: inside, text: 'hi', timestampMs: f.clock.nowMs() });
    expect(await refusal(f.send(f.b, inside, template()))).toBe('admitted');
    f.clock.advance(24 * 3_600_000 + 1000);
    // The window has closed; B fills the tier with another recipient; A owns the number.
    expect(await refusal(f.send(f.b, other, template()))).toBe('admitted');
    // The synchronous check leaves the shared count to the asynchronous one, which is exact.
    expect(f.a.departureRefusal({ phoneNumberId: NUMBER, to: inside, marketing: false, nowMs: f.clock.nowMs() })).toBeNull();
    expect((await f.a.departureTierAsync({ phoneNumberId: NUMBER, to: inside, marketing: false, nowMs: f.clock.nowMs() }))?.code).toBe('MESSAGING_LIMIT_REACHED');
    // Once B's message to the other recipient failed, A lets it leave and charges it.
    f.b.onFinal({ tenantId: TENANT, to: other, state: 'failed' });
    await f.b.flush();
    await f.a.refreshTierUsage();
    expect(await f.a.departureTierAsync({ phoneNumberId: NUMBER, to: inside, marketing: false, nowMs: f.clock.nowMs() })).toBeNull();
    await f.a.flush();
    expect(await refusal(f.send(f.b, other, template()))).toBe('MESSAGING_LIMIT_REACHED');
  });

  it('departure at the number\'s owner lets a template go whose recipient another process counted at admission, with the tier full', async () => {
    const f = await fleet();
    for (const e of [f.a, f.b]) e.setMessagingLimit(TENANT, 1);
    const counted = recipient(16);
    // B admits it (charged: no window), which fills the tier; A, the number's owner, sends it.
    expect(await refusal(f.send(f.b, counted, template()))).toBe('admitted');
    expect(await f.a.departureTierAsync({ phoneNumberId: NUMBER, to: counted, marketing: true, nowMs: f.clock.nowMs() })).toBeNull();
    // A recipient nobody counted is refused at A's departure: the tier is full.
    expect((await f.a.departureTierAsync({ phoneNumberId: NUMBER, to: recipient(17), marketing: true, nowMs: f.clock.nowMs() }))?.code).toBe('MESSAGING_LIMIT_REACHED');
  });

  it('131049 and 131026 learned at A are honoured by B; an inbound at B lifts the undeliverable one for A', async () => {
    const f = await fleet();
    const capped = recipient(11);
    const gone = recipient(12);
    await f.a.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: NUMBER, to: capped, code: 131049 });
    await f.a.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: NUMBER, to: gone, code: 131026 });
    expect(await refusal(f.send(f.b, capped, template()))).toBe('MARKETING_DEFERRED');
    expect(await refusal(f.send(f.b, capped, template('otp', ['1']), { category: 'utility' }))).toBe('admitted');
    expect(await refusal(f.send(f.b, gone, template('otp', ['1']), { category: 'utility' }))).toBe('RECIPIENT_UNDELIVERABLE');
    await eventually(() => f.b.departureRefusal({ phoneNumberId: NUMBER, to: capped, marketing: true, nowMs: f.clock.nowMs() })?.code === 'MARKETING_DEFERRED');
    await f.b.onInbound({ phoneNumberId: NUMBER, from: gone, text: 'I am here', timestampMs: f.clock.nowMs() });
    expect(await refusal(f.send(f.a, gone, text('welcome back')))).toBe('admitted');
  });

  it('gives a tier slot back only when no process holds it any more', async () => {
    const f = await fleet();
    f.a.setMessagingLimit(TENANT, 2);
    f.b.setMessagingLimit(TENANT, 2);
    const [r0, r1, r2] = [recipient(20), recipient(21), recipient(22)];
    expect(await refusal(f.send(f.a, r0, template()))).toBe('admitted');
    expect(await refusal(f.send(f.b, r0, template()))).toBe('admitted');
    expect(await refusal(f.send(f.b, r1, template()))).toBe('admitted');
    expect(await refusal(f.send(f.a, r2, template()))).toBe('MESSAGING_LIMIT_REACHED');
    // A's message to r0 failed: B's still holds r0's slot.
    f.a.onFinal({ tenantId: TENANT, to: r0, state: 'failed' });
    await f.a.flush();
    expect(await refusal(f.send(f.a, r2, template()))).toBe('MESSAGING_LIMIT_REACHED');
    // B's failed too: the slot frees.
    f.b.onFinal({ tenantId: TENANT, to: r0, state: 'failed' });
    await f.b.flush();
    expect(await refusal(f.send(f.a, r2, template()))).toBe('admitted');
  });

  it('concurrent admissions of one recipient in one process count it as one holder: giving all back frees the slot', async () => {
    const f = await fleet();
    for (const e of [f.a, f.b]) e.setMessagingLimit(TENANT, 1);
    const admissions = await Promise.all(Array.from({ length: 10 }, () => f.send(f.a, recipient(25), template())));
    expect(await refusal(f.send(f.b, recipient(26), template()))).toBe('MESSAGING_LIMIT_REACHED');
    for (const admission of admissions.slice(1)) admission.release();
    await f.a.flush();
    expect(await refusal(f.send(f.b, recipient(26), template()))).toBe('MESSAGING_LIMIT_REACHED');
    admissions[0]!.release();
    await f.a.flush();
    expect(await refusal(f.send(f.b, recipient(26), template()))).toBe('admitted');
  });

  it('an admission the store then refuses gives its charges back (release)', async () => {
    const f = await fleet();
    f.a.setMessagingLimit(TENANT, 1);
    f.b.setMessagingLimit(TENANT, 1);
    const admission = await f.send(f.a, recipient(30), template());
    admission.release();
    await f.a.flush();
    expect(await refusal(f.send(f.b, recipient(31), template()))).toBe('admitted');
  });

  it('counts repeated content once for the fleet', async () => {
    const f = await fleet({ policy: { repeat: { maxRecipients: 3, windowSec: 60 } } });
    for (let i = 0; i < 3; i++) await f.a.onInbound({ phoneNumberId: NUMBER, from: recipient(40 + i), timestampMs: f.clock.nowMs() });
    await f.b.onInbound({ phoneNumberId: NUMBER, from: recipient(43), timestampMs: f.clock.nowMs() });
    const body = text('Big sale today only, 50% off everything');
    expect(await refusal(f.send(f.a, recipient(40), body))).toBe('admitted');
    expect(await refusal(f.send(f.b, recipient(41), body))).toBe('admitted');
    expect(await refusal(f.send(f.a, recipient(42), body))).toBe('admitted');
    // The same recipient again is already counted, through either engine.
    expect(await refusal(f.send(f.b, recipient(40), body))).toBe('admitted');
    expect(await refusal(f.send(f.b, recipient(43), body))).toBe('REPEATED_CONTENT');
    // The window is 32 buckets of 1.875 s plus the current one: free at most 62 s later.
    f.clock.advance(62_000);
    expect(await refusal(f.send(f.b, recipient(43), body))).toBe('admitted');
  });

  it('the first send of a warm-up number through A is the age origin at B', async () => {
    const f = await fleet({ numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-1', warmup: true }, { phoneNumberId: NUMBER2, accessToken: 'EAAG-2' }] });
    const start = f.clock.nowMs();
    await f.a.onInbound({ phoneNumberId: NUMBER, from: recipient(50), timestampMs: start });
    expect(await refusal(f.send(f.a, recipient(50), text('hi')))).toBe('admitted');
    f.clock.advance(2 * 86_400_000);
    // Two days on, B paces it with the day-3 cap (150 per 15 s), not a new number's 50.
    await eventually(() => f.b.warmupCapsOf(NUMBER, f.clock.nowMs())?.limit === 150);
  });

  it('answers STORAGE_UNAVAILABLE (nothing admitted) while Redis does not answer', async () => {
    const down = await startRedis();
    const f = await fleet({ url: down.url, tenant: { messagingLimit: 250 } });
    await down.stop();
    expect(await refusal(f.send(f.a, recipient(60), template()))).toBe('STORAGE_UNAVAILABLE');
  });
});
