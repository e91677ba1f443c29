/**
 * kill -9 right after a message left, restart on the same data, and send to the same recipient at
 * once: the restarted gateway remembers whom each number just sent to (the store's recent
 * departures), so the second message waits out the pair interval instead of leaving at boot.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, type Child } from '../../bench/macro/processes.js';
import { startCrashGateway } from '../support/crash-gateway.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { until } from '../support/until.js';

const API_KEY = 'key-pair-restart-1';
const NUMBER = '4101';
const RECIPIENT = '15550004101';
/** Long enough that a restart on two busy cores still lands well inside it. */
const PAIR_INTERVAL_SEC = 10;
/** The simulator refuses (131056) a second message within this window: the gateway's interval with room for jitter. */
const SIM_PAIR_WINDOW_MS = PAIR_INTERVAL_SEC * 1000 - 300;

let sim: Simulator | undefined;
let gateway: Child | undefined;
const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-pair-'));
afterAll(async () => {
  await gateway?.stop();
  await sim?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function startGateway(port: number, simUrl: string): Promise<Child> {
  return startCrashGateway({
    port, dataDir, simUrl,
    tenants: [{
      id: 'pair', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { pairRate: { intervalSec: PAIR_INTERVAL_SEC, burst: 1 } },
      numbers: [{ phoneNumberId: NUMBER, accessToken: `EAAG-${NUMBER}`, mps: 20, burst: 5 }],
    }],
  });
}

async function send(url: string, text: string): Promise<number> {
  const res = await request(`${url}/v23.0/${NUMBER}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', to: `+${RECIPIENT}`, type: 'text', text: { body: text } }),
  });
  await res.body.dump();
  return res.statusCode;
}

const pair = () => sim?.stats().pairs[NUMBER]?.[RECIPIENT];

describe('pair rate across kill -9', () => {
  it('holds a recipient the number sent to just before the crash for the rest of its pair interval', async () => {
    sim = await startSimulator({ limits: { pairIntervalMs: SIM_PAIR_WINDOW_MS, mps: 1000, burst: 1000 }, numbers: [{ phoneNumberId: NUMBER, accessToken: `EAAG-${NUMBER}` }] });
    const port = await freePort();
    gateway = await startGateway(port, sim.url);
    expect(await send(gateway.url, 'first')).toBe(202);
    await until('the first message at the simulator', () => (pair()?.accepted ?? 0) === 1, 15_000);
    const firstAtMs = Date.now();
    // Give the `sent` commit a moment to land, then crash.
    await new Promise((r) => setTimeout(r, 200));
    gateway.process.kill('SIGKILL');
    await new Promise((r) => gateway!.process.once('exit', r));

    gateway = await startGateway(port, sim.url);
    const restartedAfterMs = Date.now() - firstAtMs;
    expect(restartedAfterMs).toBeLessThan(PAIR_INTERVAL_SEC * 1000 - 2000); // else the test proves nothing
    expect(await send(gateway.url, 'second')).toBe(202);
    await until('the second message at the simulator', () => (pair()?.accepted ?? 0) + (pair()?.refused ?? 0) >= 2, 15_000);
    const secondAtMs = Date.now();

    expect(pair()).toMatchObject({ accepted: 2, refused: 0, maxInWindow: 1 });
    expect(secondAtMs - firstAtMs).toBeGreaterThanOrEqual(SIM_PAIR_WINDOW_MS);
  }, 40_000);
});
