/**
 * Secrets never reach the logs: a gateway at log level `trace`, driven through accepted sends,
 * upstream failures (bad Meta token → 190), bad API keys and bad input, and the runtime management
 * of tenants, keys and tokens, prints none of the Meta tokens, the API keys, the admin token, the
 * webhook secrets or the recipients' phone numbers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, freePort, tempJson } from '../../bench/macro/processes.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { eventually } from '../support/stack.js';

const META_TOKEN = 'EAAGsecretMetaToken0000';
const API_KEY = 'key-secret-api-0000';
const APP_SECRET = 'app-secret-0000-zz';
const WEBHOOK_SECRET = 'tenant-webhook-secret-0000';
const PHONE = '16505557777';
const ADMIN_TOKEN = 'admin-token-secret-0000';
const RUNTIME_TOKEN = 'EAAGruntimeMetaToken0000';
const REPLACED_TOKEN = 'EAAGreplacedMetaToken000';

let sim: Simulator | undefined;
let child: ChildProcess | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-logs-'));
afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('logs', () => {
  it('carry no tokens, keys, secrets or phone numbers, even at trace level', async () => {
    // The simulator knows a different token, so the send also meets an upstream 190 (which the
    // gateway answers by pausing the tenant: the error path logs too).
    sim = await startSimulator({ numbers: [{ phoneNumberId: '5001', accessToken: 'EAAG-other' }] });
    const port = await freePort();
    const config = tempJson('gateway.json', {
      listen: { host: '127.0.0.1', port },
      storage: { kind: 'embedded', path: dataDir },
      upstream: { baseUrl: sim.url, version: 'v23.0' },
      dispatch: { maxAttempts: 2, retryBaseMs: 10 },
      log: { level: 'trace' },
      admin: { token: ADMIN_TOKEN },
      webhooks: { appSecret: APP_SECRET, verifyToken: 'verify-token-0000' },
      tenants: [{
        id: 'acme', apiKeys: [API_KEY], policy: { serviceWindow: 'off' },
        webhook: { url: 'http://127.0.0.1:9/unreachable', secret: WEBHOOK_SECRET },
        numbers: [{ phoneNumberId: '5001', accessToken: META_TOKEN }],
      }],
    });
    const gateway = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = gateway;
    let output = '';
    gateway.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    gateway.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const url = `http://127.0.0.1:${port}`;
    await eventually(async () => ((await fetch(`${url}/readyz`).catch(() => undefined))?.ok ? true : undefined), 20_000);

    const send = (key: string, body: string) => fetch(`${url}/v23.0/5001/messages`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body,
    });
    const ok = await send(API_KEY, JSON.stringify({ messaging_product: 'whatsapp', to: `+${PHONE}`, type: 'text', text: { body: 'hi' } }));
    expect(ok.status).toBe(202);
    const id = ((await ok.json()) as any).messages[0].id;
    expect((await send('key-wrong-0000000', '{}')).status).toBe(401);
    expect((await send(API_KEY, `{"to":"+${PHONE}",`)).status).toBe(400);
    await fetch(`${url}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, body: '{}' });
    await eventually(async () => {
      const s = (await (await fetch(`${url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as any;
      return s.last_error?.code === 190 ? true : undefined; // 190 pauses the tenant; the message waits
    });

    // Runtime management: a tenant with a Meta token, an issued and revoked key, a replaced token, a refused body.
    const admin = (method: string, path: string, body?: unknown) => fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const tenant = { id: 'late', webhook: { url: 'http://127.0.0.1:9/x', secret: WEBHOOK_SECRET }, numbers: [{ phoneNumberId: '5002', accessToken: RUNTIME_TOKEN }] };
    expect((await admin('POST', '/admin/tenants', tenant)).status).toBe(201);
    expect((await admin('POST', '/admin/tenants', { ...tenant, id: 'bad', numbers: [{ phoneNumberId: '5003', accessToken: RUNTIME_TOKEN, mps: -1 }] })).status).toBe(400);
    const issued = (await (await admin('POST', '/admin/tenants/late/api-keys')).json()) as { id: string; key: string };
    expect((await send(issued.key, '{}')).status).toBe(404); // 5001 is acme's: another tenant's number is not disclosed
    expect((await admin('DELETE', `/admin/tenants/late/api-keys/${issued.id}`)).status).toBe(200);
    expect((await admin('PUT', '/admin/numbers/5002/access-token', { accessToken: REPLACED_TOKEN })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    gateway.kill('SIGTERM');
    await new Promise((r) => gateway.once('exit', r));

    expect(output.length).toBeGreaterThan(0);
    for (const secret of [META_TOKEN, API_KEY, APP_SECRET, WEBHOOK_SECRET, PHONE, ADMIN_TOKEN, RUNTIME_TOKEN, REPLACED_TOKEN, issued.key]) expect(output).not.toContain(secret);
  }, 60_000);
});
