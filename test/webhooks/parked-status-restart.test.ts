/**
 * A Meta status that arrives before its wamid is recorded survives a crash: Meta is answered 200
 * only once the status is parked durably (webhooks.db); the gateway is killed (-9) and restarted;
 * a send then records that wamid (the upstream stub answers with it), and the parked status is
 * applied to the message.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { transpileChild } from '../support/transpile-child.js';

const APP_SECRET = 'parked-status-app-secret';
const API_KEY = 'key-parked-status-1';
const WAMID = 'wamid.HBgLMTU1NTAwMDAwMDEVAgARGBI0RUFSTFkxAA==';
const work = mkdtempSync(join(tmpdir(), 'sendgate-parked-'));
const children: ChildProcess[] = [];
let upstream: Server | undefined;
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await new Promise((r) => (upstream ? upstream.close(r) : r(undefined)));
  rmSync(work, { recursive: true, force: true });
});

/** A Cloud API stand-in that answers every send with WAMID. */
async function startUpstream(): Promise<string> {
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ messaging_product: 'whatsapp', contacts: [{ input: '15550000001', wa_id: '15550000001' }], messages: [{ id: WAMID }] }));
    });
  });
  await new Promise<void>((r) => upstream!.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
}

async function startGateway(childJs: string, configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(childJs, [configFile], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    child.once('message', (msg: { url: string }) => resolve(msg.url));
    child.once('exit', (code) => reject(new Error(`gateway exited (${code})`)));
  });
  return { child, url };
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

function statusBody(): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [{ id: 'WABA1', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550001001', phone_number_id: '1001' },
      statuses: [{ id: WAMID, status: 'delivered', timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: '15550000001' }],
    } }] }],
  });
}

describe('a status that overtook its send, across a crash', () => {
  it('is kept durably and applied once the wamid is recorded after the restart', async () => {
    const upstreamUrl = await startUpstream();
    const configFile = join(work, 'gateway.json');
    writeFileSync(configFile, JSON.stringify({
      listen: { host: '127.0.0.1', port: 0 },
      storage: { kind: 'embedded', path: join(work, 'data') },
      upstream: { baseUrl: upstreamUrl, version: 'v23.0', timeoutMs: 2000 },
      webhooks: { appSecret: APP_SECRET, verifyToken: 'verify-parked' },
      log: { level: 'warn' },
      tenants: [{ id: 'acme', apiKeys: [API_KEY], policy: { serviceWindow: 'off' }, numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-1001' }] }],
    }));
    const childJs = transpileChild('test/webhooks/gateway-child.ts', join(work, 'build'), ['src/store/embedded/store-worker.ts']);

    const first = await startGateway(childJs, configFile);
    const body = statusBody();
    const meta = await request(`${first.url}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', APP_SECRET).update(body).digest('hex')}` },
      body,
    });
    expect(meta.statusCode).toBe(200);
    await meta.body.dump();
    await killed(first.child);

    const second = await startGateway(childJs, configFile);
    const send = await request(`${second.url}/v23.0/1001/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '+15550000001', type: 'text', text: { body: 'hello' } }),
    });
    expect(send.statusCode).toBe(202);
    const id = ((await send.body.json()) as { messages: Array<{ id: string }> }).messages[0]!.id;

    let state = '';
    while (state !== 'delivered') {
      await new Promise((r) => setTimeout(r, 50));
      const res = await request(`${second.url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
      const json = (await res.body.json()) as { status?: string; state?: string };
      state = json.status ?? json.state ?? '';
    }
    expect(state).toBe('delivered');
  }, 60_000);
});
