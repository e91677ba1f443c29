/**
 * The CLI as a newcomer runs it: `sendgate serve` with no config starts the demo (gateway + bundled
 * simulator) and its printed curl line works; a bad config fails at boot naming the bad value.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, freePort, spawnServer, type Child } from '../bench/macro/processes.js';
import { eventually } from './support/stack.js';

const cwd = mkdtempSync(join(tmpdir(), 'sendgate-cli-'));
let demo: Child | undefined;
afterAll(async () => {
  await demo?.stop();
  rmSync(cwd, { recursive: true, force: true });
});

describe('sendgate CLI', () => {
  it('serve with no config starts the demo, and a message sent with its curl line is delivered', async () => {
    const port = await freePort();
    demo = await spawnServer([CLI, 'serve'], `http://127.0.0.1:${port}`, '/readyz', { PORT: String(port), SENDGATE_DATA: join(cwd, 'data') });
    const headers = { authorization: 'Bearer demo-key-change-me', 'content-type': 'application/json' };
    const res = await fetch(`${demo.url}/v23.0/100000000000001/messages`, {
      method: 'POST', headers,
      body: JSON.stringify({ messaging_product: 'whatsapp', to: '+16505551234', type: 'text', text: { body: 'Hello from sendgate' } }),
    });
    expect(res.status).toBe(202);
    const id = ((await res.json()) as any).messages[0].id;
    // The bundled simulator answers, then reports `delivered` through a signed webhook.
    const state = await eventually(async () => {
      const s = (await (await fetch(`${demo!.url}/v1/messages/${id}`, { headers })).json()) as any;
      return s.state === 'delivered' || s.state === 'read' ? s.state : undefined;
    });
    expect(['delivered', 'read']).toContain(state);
  });

  it('refuses a bad config at boot with the path of the bad value, exit code 2', () => {
    const file = join(cwd, 'bad.json');
    writeFileSync(file, JSON.stringify({ tenants: [{ id: 'a', apiKeys: ['key-a-12345'], numbers: [{ phoneNumberId: '1', accessToken: 't', mps: 0 }] }] }));
    const run = spawnSync(process.execPath, [CLI, 'serve', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/\/tenants\/0\/numbers\/0\/mps/);
  });

  it('simulate runs the Cloud API simulator on its own', async () => {
    const port = await freePort();
    const sim = await spawnServer([CLI, 'simulate', '--port', String(port), '--accept-any-number'], `http://127.0.0.1:${port}`, '/__sim/stats');
    try {
      const res = await fetch(`${sim.url}/v23.0/42/messages`, {
        method: 'POST', headers: { authorization: 'Bearer any', 'content-type': 'application/json' },
        body: JSON.stringify({ messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: { body: 'hi' } }),
      });
      expect(res.status).toBe(200);
      expect(((await res.json()) as any).messages[0].id).toMatch(/^wamid\./);
    } finally {
      await sim.stop();
    }
  });
});

