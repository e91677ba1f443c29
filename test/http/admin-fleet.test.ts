/**
 * The admin views in a fleet: two gateways on one real redis-server (in this process). Either
 * answers GET /admin/numbers for every number, the ones the other owns from the store (queue,
 * control state, lease owner); a failed message is listed by either and requeued through the one
 * that does not own its number, and its owner sends it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type GatewayHandle } from '../../src/server.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { eventually, templateBody } from '../support/stack.js';

const ADMIN = 'admin-token-0123456789';
const KEY = 'key-acme-fleet-1';
/**
 * Rendezvous hashing spreads numbers over the two processes by their random member ids: with 4
 * numbers one process got them all 1 time in 8 (the test needs both to own some); with 16, 1 in 32,768.
 */
const NUMBERS = Array.from({ length: 16 }, (_, i) => String(3001 + i));
let redis: RedisServer;
let sim: Simulator;
let gateways: GatewayHandle[];
let dirs: string[];
/** The number the queue test loaded (its messages are still draining afterwards). */
let loaded = '';

beforeAll(async () => {
  redis = await startRedis();
  sim = await startSimulator({ numbers: NUMBERS.map((phoneNumberId) => ({ phoneNumberId, accessToken: `EAAG-${phoneNumberId}` })) });
  const prefix = `fleet-admin-${randomBytes(4).toString('hex')}`;
  dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'sendgate-fleet-admin-')));
  gateways = await Promise.all(dirs.map((dir) => startGateway(parseConfig({
    listen: { host: '127.0.0.1', port: 0 },
    storage: { kind: 'redis', url: redis.url, prefix, leaseTtlMs: 2000 },
    upstream: { baseUrl: sim.url, version: 'v23.0', timeoutMs: 2000 },
    dispatch: { retryBaseMs: 50, retryMaxMs: 500 },
    admin: { token: ADMIN },
    log: { level: 'silent' },
    tenants: [{
      id: 'acme', apiKeys: [KEY],
      numbers: NUMBERS.map((phoneNumberId) => ({ phoneNumberId, accessToken: `EAAG-${phoneNumberId}`, mps: 2, burst: 1 })),
    }],
  }, `fleet ${dir}`), { defaultMetrics: false })));
}, 60_000);

afterAll(async () => {
  await Promise.all((gateways ?? []).map((g) => g.close()));
  await sim?.close();
  await redis?.stop();
  for (const dir of dirs ?? []) rmSync(dir, { recursive: true, force: true });
});

async function call(g: GatewayHandle, method: 'GET' | 'POST', path: string, body?: unknown, key = ADMIN): Promise<{ status: number; json: any }> {
  const res = await request(`${g.url}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

const numbersOf = async (g: GatewayHandle): Promise<any[]> => (await call(g, 'GET', '/admin/numbers')).json;

describe('admin views in a fleet', () => {
  it('either process answers for every number, with its owner', async () => {
    // Every number leased by one of the two.
    const owners = await eventually(async () => {
      const views = await numbersOf(gateways[0]!);
      return views.every((v) => typeof v.owner === 'string') && new Set(views.map((v) => v.owner)).size === 2 ? views : undefined;
    }, 15_000);
    const other = await numbersOf(gateways[1]!);
    expect(other.map((v) => [v.phone_number_id, v.owner])).toEqual(owners.map((v) => [v.phone_number_id, v.owner]));
    // Live lanes (in_flight a number) for its own, the store (null) for the other's.
    for (const g of [0, 1]) {
      const views = await numbersOf(gateways[g]!);
      const mine = views.filter((v) => v.in_flight !== null).map((v) => v.owner);
      expect(new Set(mine).size).toBe(1);
      expect(views.some((v) => v.in_flight === null)).toBe(true);
    }
  });

  it('a number\'s queue and an operator\'s pause show on the process that does not own it', async () => {
    const views = await numbersOf(gateways[0]!);
    const me = views.find((v) => v.in_flight !== null)!.owner;
    const remote = views.find((v) => v.owner !== me)!.phone_number_id as string;
    loaded = remote;
    // 2 mps with a bucket of 1: ten sends wait a few seconds in the owner's queue.
    for (let i = 0; i < 10; i++) {
      const res = await call(gateways[0]!, 'POST', `/v23.0/${remote}/messages`, templateBody(`+1650555900${i}`), KEY);
      expect(res.status).toBe(202);
    }
    const seen = (await numbersOf(gateways[0]!)).find((v) => v.phone_number_id === remote);
    expect(seen.queue_depth).toBeGreaterThanOrEqual(5);
    expect(seen.oldest_queued_age_sec).toBeGreaterThanOrEqual(0);

    expect((await call(gateways[0]!, 'POST', `/admin/numbers/${remote}/pause`)).status).toBe(200);
    await eventually(async () => ((await numbersOf(gateways[0]!)).find((v) => v.phone_number_id === remote).paused?.by === 'operator' ? true : undefined));
    await eventually(async () => ((await numbersOf(gateways[1]!)).find((v) => v.phone_number_id === remote).paused?.by === 'operator' ? true : undefined));
    expect((await call(gateways[1]!, 'POST', `/admin/numbers/${remote}/resume`)).status).toBe(200);
    await eventually(async () => ((await numbersOf(gateways[0]!)).find((v) => v.phone_number_id === remote).paused === null ? true : undefined));
  });

  it('a failed message is listed by either process and requeued through the one that does not own its number', async () => {
    const target = NUMBERS.find((n) => n !== loaded)!;
    // The process that does not dispatch it: its view answers from the store (in_flight null).
    const notOwner = (await Promise.all(gateways.map(numbersOf))).findIndex((views) => views.find((v) => v.phone_number_id === target).in_flight === null);
    expect(notOwner).toBeGreaterThanOrEqual(0);
    await request(`${sim.url}/__sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumberId: target, faults: { errorRates: { 131009: 1 } } }) }).then((r) => r.body.dump());
    const sent = await call(gateways[0]!, 'POST', `/v23.0/${target}/messages`, templateBody('+16505559500'), KEY);
    const id = sent.json.messages[0].id as string;
    await eventually(async () => ((await call(gateways[0]!, 'GET', `/v1/messages/${id}`, undefined, KEY)).json.state === 'failed' ? true : undefined), 15_000);
    await request(`${sim.url}/__sim/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phoneNumberId: target }) }).then((r) => r.body.dump());

    for (const g of gateways) {
      const page = (await call(g, 'GET', `/admin/messages?state=failed&number=${target}`)).json;
      expect(page.data.map((m: any) => m.id)).toEqual([id]);
    }
    expect((await call(gateways[notOwner]!, 'POST', `/admin/messages/${id}/requeue`)).json).toMatchObject({ id, state: 'queued', attempts: 0 });
    const done = await eventually(async () => {
      const status = (await call(gateways[0]!, 'GET', `/v1/messages/${id}`, undefined, KEY)).json;
      return status.state === 'sent' ? status : undefined;
    }, 15_000);
    expect(done.wamid).toMatch(/^wamid\./);
    expect((await call(gateways[1]!, 'GET', `/admin/messages?state=failed&number=${target}`)).json.data).toEqual([]);
  });
});
