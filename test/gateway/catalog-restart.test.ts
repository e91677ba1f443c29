/**
 * Runtime tenants survive a crash: a real gateway process (embedded storage, secrets read from env
 * and a file) gets a tenant and a key at run time, a config key revoked, a config tenant changed
 * and another deleted; after kill -9 and a restart on the same config, the new tenant's key still
 * sends through its number, the revoked key is still refused, and what the admin API changed wins
 * over the config file, while a tenant it never touched follows the file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, freePort, spawnServer, type Child } from '../../bench/macro/processes.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually, textBody } from '../support/stack.js';

const ADMIN = 'admin-token-restart-test';
const ACME_KEY = 'key-acme-from-env-1';
const dir = mkdtempSync(join(tmpdir(), 'sendgate-catalog-restart-'));
let sim: Simulator;
let gateway: Child | undefined;
let port: number;

const env = { SG_ADMIN_TOKEN: ADMIN, SG_ACME_KEY: ACME_KEY };

function writeConfig(otherMps: number): string {
  const tokenFile = join(dir, 'acme-token');
  writeFileSync(tokenFile, 'EAAG-acme\n');
  const file = join(dir, 'sendgate.json');
  writeFileSync(file, JSON.stringify({
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'embedded', path: join(dir, 'data') },
    upstream: { baseUrl: sim.url, version: 'v23.0' },
    admin: { token: { env: 'SG_ADMIN_TOKEN' } },
    log: { level: 'warn' },
    tenants: [
      { id: 'acme', apiKeys: [{ env: 'SG_ACME_KEY' }], messagingLimit: 250, numbers: [{ phoneNumberId: '1001', accessToken: { file: tokenFile } }] },
      { id: 'other', apiKeys: ['key-other-restart'], numbers: [{ phoneNumberId: '2002', accessToken: 'EAAG-other', mps: otherMps }] },
      { id: 'legacy', apiKeys: ['key-legacy-restart'], numbers: [{ phoneNumberId: '4004', accessToken: 'EAAG-legacy' }] },
    ],
  }));
  return file;
}

const start = async (file: string): Promise<Child> => spawnServer([CLI, 'serve', '--config', file], `http://127.0.0.1:${port}`, '/readyz', env);

async function call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await request(`http://127.0.0.1:${port}${path}`, {
    method: method as 'GET',
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return { status: res.statusCode, json: text === '' ? undefined : JSON.parse(text) };
}

const send = (key: string, number: string, to = '+16505551234') => call('POST', `/v23.0/${number}/messages`, key, textBody(to));

beforeAll(async () => {
  sim = await startSimulator({
    numbers: [
      { phoneNumberId: '1001', accessToken: 'EAAG-acme' }, { phoneNumberId: '2002', accessToken: 'EAAG-other' },
      { phoneNumberId: '3003', accessToken: 'EAAG-late' }, { phoneNumberId: '4004', accessToken: 'EAAG-legacy' },
    ],
  });
  port = await freePort();
});
afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('runtime tenants across a restart (embedded)', () => {
  it('what the admin API created, revoked, changed and deleted holds after kill -9 and a restart', async () => {
    const file = writeConfig(80);
    gateway = await start(file);
    expect((await send(ACME_KEY, '1001')).status).toBe(202); // the key came from the environment

    const created = await call('POST', '/admin/tenants', ADMIN, { id: 'late', numbers: [{ phoneNumberId: '3003', accessToken: 'EAAG-late' }] });
    expect(created.status).toBe(201);
    const issued = await call('POST', '/admin/tenants/late/api-keys', ADMIN);
    expect(issued.status).toBe(201);
    const lateKey: string = issued.json.key;
    const acme = await call('GET', '/admin/tenants/acme', ADMIN);
    expect((await call('DELETE', `/admin/tenants/acme/api-keys/${acme.json.apiKeys[0].id}`, ADMIN)).status).toBe(200);
    const acmeKey2: string = (await call('POST', '/admin/tenants/acme/api-keys', ADMIN)).json.key;
    expect((await call('PATCH', '/admin/tenants/acme', ADMIN, { messagingLimit: 10000 })).status).toBe(200);
    expect((await call('DELETE', '/admin/tenants/legacy', ADMIN)).status).toBe(200);

    gateway.process.kill('SIGKILL');
    await new Promise((r) => gateway!.process.once('exit', r));
    // The file now lowers an untouched tenant's rate: that applies; the changed ones keep the API's version.
    gateway = await start(writeConfig(40));

    const sent = await send(lateKey, '3003');
    expect(sent.status).toBe(202);
    const id: string = sent.json.messages[0].id;
    await eventually(async () => {
      const state = (await call('GET', `/v1/messages/${id}`, lateKey)).json.state as string;
      return ['sent', 'delivered', 'read'].includes(state) ? state : undefined;
    });
    expect(sim.stats().numbers['3003']!.accepted).toBeGreaterThanOrEqual(1);

    expect((await send(ACME_KEY, '1001')).status).toBe(401);
    expect((await send(acmeKey2, '1001', '+16505550002')).status).toBe(202);
    expect((await send('key-legacy-restart', '4004')).status).toBe(401);

    const tenants = (await call('GET', '/admin/tenants', ADMIN)).json.data as any[];
    expect(tenants.map((t) => [t.id, t.source])).toEqual([['acme', 'admin'], ['late', 'admin'], ['other', 'config']]);
    expect(tenants[0].messagingLimit).toBe(10000);
    expect(tenants[2].numbers[0].mps).toBe(40);
  }, 60_000);
});
