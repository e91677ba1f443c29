/**
 * Throughput that learns: a number configured at 80 msg/s whose upstream really allows 30.
 *
 *   npm run build && node dist/bench/macro/adaptive.js [--seconds 30] [--latency-ms 100]
 *
 * The gateway runs from the built CLI in its own process; the simulator (strict GCRA, refusing
 * with 130429) runs in this one, so its limits can change mid-run. Two scenarios, each with a
 * backlog that never runs dry:
 *   learn   configured 80, real 30 from the start;
 *   lowered configured 80, real 80; after 5 s the real limit drops to 30 and an operator lowers
 *           the number's mps to 30 through the admin API at the same moment (the bucket must not
 *           release a burst at the lower rate).
 * Printed per scenario: 130429 answers per 1,000 sends (all, and in the steady state from 10 s
 * after the start or the change) and the share of the real rate used in the steady state.
 * Goals: steady-state 130429 ≤ 20 per 1,000, share ≥ 0.8.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { formatTable } from '../support/child.js';
import { CLI, freePort, machineLine, spawnServer, tempJson } from './processes.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, 'latency-ms': { type: 'string', default: '100' } } });
const seconds = Number(values.seconds);
const latencyMs = Number(values['latency-ms']);
const NUMBER = '4501';
const TOKEN = 'EAAG-adaptive';
const API_KEY = 'key-adaptive-bench';
const ADMIN = 'admin-token-adaptive-bench';
const REAL_MPS = 30;
const CONFIGURED_MPS = 80;

interface Counts { accepted: number; refused: number }

function counts(sim: Simulator): Counts {
  const n = sim.stats().numbers[NUMBER];
  return { accepted: n?.accepted ?? 0, refused: n?.refused['130429'] ?? 0 };
}

async function postBacklog(url: string, total: number): Promise<void> {
  const pool = new Pool(url, { connections: 16 });
  const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' };
  for (let i = 0; i < total; i += 200) {
    await Promise.all(Array.from({ length: Math.min(200, total - i) }, async (_, k) => {
      const res = await pool.request({
        method: 'POST', path: `/v23.0/${NUMBER}/messages`, headers,
        body: JSON.stringify({ messaging_product: 'whatsapp', to: `+1666${String(i + k).padStart(7, '0')}`, type: 'template', template: { name: 'update', language: { code: 'en' } } }),
      });
      await res.body.dump();
    }));
  }
  await pool.close();
}

interface Row { scenario: string; per1000All: number; per1000Steady: number; share: number; steadyMps: number }

async function scenario(name: 'learn' | 'lowered'): Promise<Row> {
  const sim = await startSimulator({
    limits: { pairIntervalMs: 0 },
    numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: name === 'learn' ? REAL_MPS : CONFIGURED_MPS, burst: name === 'learn' ? REAL_MPS : CONFIGURED_MPS }],
    faults: { latency: { kind: 'fixed', ms: latencyMs } },
  });
  const port = await freePort();
  const config = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port }, storage: { kind: 'embedded', path: mkdtempSync(join(tmpdir(), 'sendgate-adaptive-')) },
    upstream: { baseUrl: sim.url }, admin: { token: ADMIN }, log: { level: 'warn' },
    tenants: [{ id: 'adaptive', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' }, numbers: [{ phoneNumberId: NUMBER, accessToken: TOKEN, mps: CONFIGURED_MPS, burst: CONFIGURED_MPS }] }],
  });
  const gateway = await spawnServer([CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
  try {
    const changeAtSec = name === 'lowered' ? 5 : 0;
    const backlog = Math.ceil(CONFIGURED_MPS * (changeAtSec + 2) + REAL_MPS * (seconds + 5));
    await postBacklog(gateway.url, backlog);
    const startMs = performance.now();
    const at = (sec: number) => new Promise((r) => setTimeout(r, Math.max(0, startMs + sec * 1000 - performance.now())));
    if (name === 'lowered') {
      await at(changeAtSec);
      sim.setNumber({ phoneNumberId: NUMBER, accessToken: TOKEN, mps: REAL_MPS, burst: REAL_MPS });
      const res = await request(`${gateway.url}/admin/numbers/${NUMBER}/limits`, {
        method: 'PUT', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify({ mps: REAL_MPS }),
      });
      await res.body.dump();
    }
    // setNumber restarts the simulator's counts for the number: everything below is after the change.
    const first = counts(sim);
    await at(changeAtSec + 10);
    const steadyFrom = counts(sim);
    const steadyStartMs = performance.now();
    await at(changeAtSec + seconds);
    const end = counts(sim);
    const steadySec = (performance.now() - steadyStartMs) / 1000;
    const all = { accepted: end.accepted - first.accepted, refused: end.refused - first.refused };
    const steady = { accepted: end.accepted - steadyFrom.accepted, refused: end.refused - steadyFrom.refused };
    const steadyMps = steady.accepted / steadySec;
    return {
      scenario: name,
      per1000All: (all.refused * 1000) / Math.max(1, all.accepted + all.refused),
      per1000Steady: (steady.refused * 1000) / Math.max(1, steady.accepted + steady.refused),
      share: steadyMps / REAL_MPS,
      steadyMps,
    };
  } finally {
    await gateway.stop();
    await sim.close();
  }
}

const rows = [await scenario('learn'), await scenario('lowered')];
console.log(`adaptive benchmark — ${machineLine()}`);
console.log(`number configured at ${CONFIGURED_MPS} msg/s, upstream allows ${REAL_MPS} (strict GCRA, 130429); latency ${latencyMs} ms; ${seconds} s per scenario, steady state from 10 s`);
console.log(formatTable(['scenario', '130429 per 1000 (all)', '130429 per 1000 (steady)', 'steady msg/s', 'share of real rate'], rows.map((r) => [
  r.scenario, r.per1000All.toFixed(1), r.per1000Steady.toFixed(1), r.steadyMps.toFixed(1), r.share.toFixed(2),
])));
