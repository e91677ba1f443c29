/**
 * kill -9 the gateway while thousands of messages are queued, restart it on the same data dir:
 * every accepted message is delivered, and the only duplicates are sends that were in flight.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, freePort, spawnServer, tempJson, type Child } from '../../bench/macro/processes.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';

const API_KEY = 'key-crash-test-1';
const NUMBERS = Array.from({ length: 10 }, (_, i) => String(3000 + i));
const PER_NUMBER = 300;
const MPS = 60;
const CONNECTIONS = 16;

let sim: Simulator | undefined;
let gateway: Child | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-crash-'));
afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startGateway(port: number, simUrl: string): Promise<Child> {
  const config = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'embedded', path: dataDir },
    upstream: { baseUrl: simUrl, version: 'v23.0', connections: CONNECTIONS },
    log: { level: 'warn' },
    tenants: [{ id: 'crash', apiKeys: [API_KEY], numbers: NUMBERS.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}`, mps: MPS, burst: 10 })) }],
  });
  return spawnServer([CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
}

/** Posts PER_NUMBER messages to every number; returns the accepted gateway ids. */
async function postBacklog(url: string, tag: string): Promise<string[]> {
    const pool = new Pool(url, { connections: 32 });
    const accepted: string[] = [];
    const sends: Promise<void>[] = [];
    for (let i = 0; i < PER_NUMBER; i++) {
      for (const number of NUMBERS) {
        const to = `+1${tag}${number}${String(i).padStart(4, '0')}`;
        sends.push(pool.request({
          path: `/v23.0/${number}/messages`, method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'text', text: { body: `crash ${number} ${i}` } }),
        }).then(async (res) => {
          const json = (await res.body.json()) as any;
          if (res.statusCode === 202) accepted.push(json.messages[0].id);
        }));
      }
    }
    await Promise.all(sends);
    await pool.close();
    return accepted;
}

describe('crash recovery', () => {
  it('delivers every accepted message after kill -9 and restart', async () => {
    sim = await startSimulator({ numbers: NUMBERS.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}` })) });
    const port = await freePort();
    gateway = await startGateway(port, sim.url);
    const accepted = await postBacklog(gateway.url, '650');
    expect(accepted.length).toBe(NUMBERS.length * PER_NUMBER);

    // Let some go out, then kill -9 with most still queued.
    await new Promise((r) => setTimeout(r, 500));
    gateway.process.kill('SIGKILL');
    await new Promise((r) => gateway!.process.once('exit', r));
    const sentBeforeKill = totalAccepted(sim);
    expect(sentBeforeKill).toBeLessThan(accepted.length / 2);

    gateway = await startGateway(port, sim.url);
    const deadline = Date.now() + 60_000;
    while (totalAccepted(sim) < accepted.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));

    // Every accepted message reached a sent state (checked through the status API).
    const states = new Map<string, number>();
    const check = new Pool(gateway.url, { connections: 16 });
    await Promise.all(accepted.map(async (id) => {
      const res = await check.request({ path: `/v1/messages/${id}`, method: 'GET', headers: { authorization: `Bearer ${API_KEY}` } });
      const json = (await res.body.json()) as any;
      states.set(json.state, (states.get(json.state) ?? 0) + 1);
    }));
    await check.close();
    const sent = (states.get('sent') ?? 0) + (states.get('delivered') ?? 0) + (states.get('read') ?? 0);
    expect(sent).toBe(accepted.length);
    // Duplicates only from what was in flight at the kill: at most the connections' worth.
    const duplicates = totalAccepted(sim) - accepted.length;
    expect(duplicates).toBeGreaterThanOrEqual(0);
    expect(duplicates).toBeLessThanOrEqual(CONNECTIONS);
  }, 120_000);

  it('SIGTERM drains in-flight sends and keeps the rest queued: nothing lost, nothing sent twice', async () => {
    const port = Number(new URL(gateway!.url).port);
    await gateway!.stop();
    sim!.reset();
    gateway = await startGateway(port, sim!.url);
    const accepted = await postBacklog(gateway.url, '651');
    await new Promise((r) => setTimeout(r, 300));
    const exit = new Promise<number | null>((r) => gateway!.process.once('exit', (code) => r(code)));
    gateway.process.kill('SIGTERM');
    expect(await exit).toBe(0);
    const sentAtStop = totalAccepted(sim!);
    expect(sentAtStop).toBeLessThan(accepted.length);
    gateway = await startGateway(port, sim!.url);
    const deadline = Date.now() + 60_000;
    while (totalAccepted(sim!) < accepted.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 300));
    expect(totalAccepted(sim!)).toBe(accepted.length); // exactly once: a graceful stop repeats nothing
  }, 120_000);
});

function totalAccepted(s: Simulator): number {
  return s.stats().totals.accepted;
}
