/**
 * Over HTTP, a fleet of two gateways' send routes (buildApp), each with its own Redis message store
 * connection and its own shared policy engine, on one real redis-server: the route awaits the
 * fleet's admission, refusals come back as the Graph envelope, and slots given back at one gateway
 * free them for the other.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { createSharedPolicyEngine, openRedisPolicyStore, type SharedPolicyEngine } from '../../src/policy/index.js';
import type { RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { API_KEY, NUMBER, T0, TENANT, testConfig } from './harness.js';

let server: RedisServer;
const closers: Array<() => Promise<unknown> | unknown> = [];

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await server?.stop();
});

interface Gateway { app: FastifyInstance; engine: SharedPolicyEngine; client: RedisClient }

async function gateways(): Promise<[Gateway, Gateway, ManualClock]> {
  const config = testConfig({ policy: { optIn: 'off' } });
  const clock = new ManualClock(T0);
  const prefix = `routes-${randomBytes(6).toString('hex')}`;
  const open = async (): Promise<Gateway> => {
    const store = await RedisStore.open({ target: parseRedisUrl(server.url), clock, prefix });
    const client = await connectRedis(parseRedisUrl(server.url));
    const keys = new RedisKeys(prefix);
    const engine = await createSharedPolicyEngine({
      config, clock, client, keys, core: await loadCore(config.core), store: openRedisPolicyStore({ client, keys, config }),
    });
    const tenants = new TenantRegistry(config);
    const app = await buildApp({
      logger: false,
      deps: {
        config, tenants, store, clock, policy: engine, metrics: new GatewayMetrics(() => []), coreLoaded: () => true,
        dispatch: { submit() {}, estimateWaitMs: () => 0, queued: () => 0, waitForOutcome: async () => null },
      },
      control: { setLimits() {}, pause() {}, resume() {}, pauseTenant() {}, resumeTenant() {} },
    });
    closers.push(() => store.close(), () => client.disconnect(), () => engine.close(), () => app.close());
    return { app, engine, client };
  };
  return [await open(), await open(), clock];
}

const send = (g: Gateway, to: string, body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  g.app.inject({
    method: 'POST', url: `/v23.0/${NUMBER}/messages`, headers: { authorization: `Bearer ${API_KEY}`, ...headers },
    payload: { messaging_product: 'whatsapp', to, ...body },
  });
const promo = { type: 'template', template: { name: 'promo', language: { code: 'en_US' } } };

describe('send route with a fleet\'s policy engine', () => {
  it('admits through either gateway within one shared messaging limit; refusals are the Graph envelope', async () => {
    const [a, b] = await gateways();
    for (const g of [a, b]) g.engine.setMessagingLimit(TENANT, 3);
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await send(i % 2 === 0 ? a : b, `1555010000${i}`, promo, { 'x-sendgate-category': 'marketing' })).statusCode);
    expect(codes).toEqual([202, 202, 202, 429, 429]);
    const refused = await send(a, '15550100009', promo, { 'x-sendgate-category': 'marketing' });
    expect(refused.json().error.code).toBe(900430);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses at B a marketing template to a recipient who opted out through A', async () => {
    const [a, b, clock] = await gateways();
    await a.engine.recordConsentAsync([{ tenantId: TENANT, recipient: '15550200001', status: 'opt_out', source: 'api', atMs: clock.nowMs() }]);
    const res = await send(b, '15550200001', promo, { 'x-sendgate-category': 'marketing' });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe(131050);
  });

  it('a 409 (idempotency conflict) charges nothing; a message that failed at A frees its slot for B', async () => {
    const [a, b] = await gateways();
    for (const g of [a, b]) g.engine.setMessagingLimit(TENANT, 1);
    expect((await send(a, '15550300001', promo, { 'idempotency-key': 'k1' })).statusCode).toBe(202);
    // Same key, other body: 409 before admission, nothing charged.
    expect((await send(b, '15550300002', promo, { 'idempotency-key': 'k1' })).statusCode).toBe(409);
    await b.engine.flush();
    a.engine.onFinal({ tenantId: TENANT, to: '15550300001', state: 'failed' });
    await a.engine.flush();
    expect((await send(b, '15550300003', promo)).statusCode).toBe(202);
  });
});
