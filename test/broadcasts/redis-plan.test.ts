/**
 * A broadcast's plan on Redis storage judges recipients by the fleet's shared policy state, as a
 * single send in that mode would be: two gateways on one Redis; opt-outs recorded and sends
 * admitted through one of them exclude, or are not new to the messaging limit, in a dry run
 * through the other, whose free slots are the tenant's shared count. A list uploaded through one
 * gateway plans the same through the other.
 */
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { startGateway, type GatewayHandle } from '../../src/server.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';
import { API_KEY, NUMBER, TOKEN, templateBody } from '../support/stack.js';
import { announcement, call, employee } from './support.js';

let redis: RedisServer;
let sim: Simulator;
const gateways: GatewayHandle[] = [];

beforeAll(async () => {
  [redis, sim] = await Promise.all([startRedis(), startSimulator({ numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN }] })]);
  for (let i = 0; i < 2; i++) {
    gateways.push(await startGateway(parseConfig({
      listen: { host: '127.0.0.1', port: 0 },
      storage: { kind: 'redis', url: redis.url, prefix: 'plan' },
      upstream: { baseUrl: sim.url, version: 'v23.0', timeoutMs: 2000 },
      log: { level: 'silent' },
      tenants: [{ id: 'acme', apiKeys: [API_KEY], messagingLimit: 250, policy: { optIn: 'off' }, numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: 80 }] }],
    }, 'redis config'), { defaultMetrics: false }));
  }
}, 60_000);

afterAll(async () => {
  for (const g of gateways) await g.close();
  await sim?.close();
  await redis?.stop();
});

describe('a broadcast plan on Redis storage', () => {
  it('excludes what the fleet recorded and counts the tenant\'s shared messaging limit', async () => {
    const [a, b] = gateways as [GatewayHandle, GatewayHandle];
    for (const i of [1, 2]) expect((await call(a.url, 'POST', '/v1/consent', { recipient: employee(i), status: 'opt_out' })).status).toBe(200);
    // Two recipients take slots of the limit (250) through the first gateway.
    for (const i of [10, 11]) {
      const sent = await call(a.url, 'POST', `/v23.0/${NUMBER}/messages`, templateBody(employee(i)), { 'x-sendgate-category': 'utility' });
      expect(sent.status, JSON.stringify(sent.json)).toBeLessThan(300);
    }
    const fresh = Array.from({ length: 260 }, (_, i) => 100 + i);
    const recipients = [1, 2, 10, 11, ...fresh].map((i) => ({ to: employee(i) }));
    recipients.push({ to: 'not a number' }, { to: employee(100) });
    const res = await call(b.url, 'POST', '/v1/broadcasts', {
      phone_number_id: NUMBER, message: announcement(), category: 'marketing', recipients, dry_run: true,
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    // The same list uploaded through the first gateway, planned through the second.
    const upload = await request(`${a.url}/v1/broadcasts/uploads`, {
      method: 'POST', headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/x-ndjson' },
      body: recipients.map((r) => JSON.stringify(r)).join('\n'),
    });
    const uploaded = (await upload.body.json()) as { id: string; recipients: number };
    expect(upload.statusCode).toBe(201);
    expect(uploaded.recipients).toBe(recipients.length);
    const fromUpload = await call(b.url, 'POST', '/v1/broadcasts', {
      phone_number_id: NUMBER, message: announcement(), category: 'marketing', recipients_upload: uploaded.id, dry_run: true,
    });
    expect(fromUpload.status, JSON.stringify(fromUpload.json)).toBe(200);
    expect({ ...fromUpload.json.plan, eta_seconds: 0, finish_at: '' }).toEqual({ ...res.json.plan, eta_seconds: 0, finish_at: '' });
    expect(res.json.plan).toMatchObject({
      recipients: 266,
      excluded: { opted_out: 2, invalid: 1, duplicate: 1 },
      new_unique_recipients: 260,
      messaging_limit_free: 248,
      sendable_now: 250,
      waiting_for_limit: 12,
    });
  });
});
