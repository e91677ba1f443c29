/**
 * Ingress benchmark: autocannon against the gateway's send route (auth, validation, policy
 * admission, durable enqueue with group commit, dispatch hand-off) vs a bare Fastify route that
 * parses the same JSON and answers the same 202, measured in the same run. Template bodies over
 * NUMBERS numbers (one per request, in turn), at pipelining 1 and 10.
 * Goal: gateway >= 0.5x bare at both settings, p99 <= 2x bare.
 *
 * The gateway's numbers are paced at 1 mps with a 30-day deadline so the dispatcher stays nearly
 * idle and the figure is the ingress path; the simulator is its upstream in its own process.
 * Rounds alternate bare / gateway; each figure is the median of its rounds and the ratio is the
 * ratio of the medians. Server CPU per request (both servers' own CPU time) is steadier than
 * req/s on a shared machine.
 * Usage: npm run build && node dist/bench/macro/ingress.js [--seconds 5] [--connections 100] [--rounds 3] [--pipelining 1,10]
 *        [--profile DIR]   (the gateway runs with --cpu-prof into DIR; read it with bench/support/cpu-profile.ts)
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { CLI, cpuMs, freePort, machineLine, spawnServer, tempJson, type Child } from './processes.js';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' },
  pipelining: { type: 'string', default: '1,10' }, profile: { type: 'string' },
} });
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);
const pipelinings = values.pipelining.split(',').map(Number);
const NUMBERS = 1000;

const API_KEY = 'bench-key-123456';
const numberIds = Array.from({ length: NUMBERS }, (_, i) => String(100_000 + i));
const body = JSON.stringify({
  messaging_product: 'whatsapp', recipient_type: 'individual', to: '+16505551234', type: 'template',
  template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-42' }] }] },
});
const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'x-sendgate-deadline': '2592000' };

interface Figures { rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuUsPerReq: number }

async function load(target: Child, pipelining: number): Promise<Figures> {
  let next = 0;
  // One request per number in turn (autocannon asks for the next request body per send).
  const requests = [{ method: 'POST' as const, body, headers, setupRequest: (req: { path?: string }) => ({ ...req, path: `/v23.0/${numberIds[next++ % NUMBERS]}/messages` }) }];
  const options = { url: target.url, connections, pipelining, requests };
  // Short warm-up so JIT and connection setup are not measured.
  await autocannon({ ...options, duration: 1 });
  const cpuBeforeMs = cpuMs(target.process.pid);
  const r = await autocannon({ ...options, duration: seconds });
  // The server's own CPU (all its threads) per request: steadier than req/s on a shared machine.
  const cpuUsPerReq = ((cpuMs(target.process.pid) - cpuBeforeMs) * 1000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuUsPerReq };
}

function med(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Median of each figure over the rounds. */
function median(runs: Figures[]): Figures {
  const of = (pick: (f: Figures) => number): number => med(runs.map(pick));
  return { rps: of((f) => f.rps), p50: of((f) => f.p50), p99: of((f) => f.p99), non2xx: of((f) => f.non2xx), errors: of((f) => f.errors), cpuUsPerReq: of((f) => f.cpuUsPerReq) };
}

async function main(): Promise<void> {
  // Both targets stay up; rounds alternate bare / gateway so load drift on this shared machine hits both alike.
  const barePort = await freePort();
  const bare = await spawnServer([new URL('./bare-server.js', import.meta.url).pathname, String(barePort)], `http://127.0.0.1:${barePort}`, '/healthz');

  const simPort = await freePort();
  const simConfig = tempJson('sim.json', { acceptAnyNumber: true, limits: { mps: 1_000_000, burst: 1_000_000, pairIntervalMs: 0 } });
  const sim = await spawnServer([CLI, 'simulate', '--port', String(simPort), '--config', simConfig], `http://127.0.0.1:${simPort}`, '/__sim/stats');
  const gwPort = await freePort();
  const dataDir = tempJson('x', {}).replace(/x$/, 'data');
  const gwConfig = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port: gwPort },
    storage: { kind: 'embedded', path: dataDir },
    upstream: { baseUrl: sim.url, version: 'v23.0' },
    log: { level: 'warn' },
    // Unlimited tier and opt-in off: every template is admitted, so the figure is the full route's cost, not refusals.
    tenants: [{
      id: 'bench', apiKeys: [API_KEY], messagingLimit: 'unlimited', policy: { optIn: 'off' },
      numbers: numberIds.map((id) => ({ phoneNumberId: id, accessToken: 'EAAG-bench', mps: 1, burst: 1 })),
    }],
  });
  const profile = values.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values.profile];
  const gateway = await spawnServer([...profile, CLI, 'serve', '--config', gwConfig], `http://127.0.0.1:${gwPort}`, '/readyz');
  const results: Array<{ pipelining: number; bare: Figures[]; gw: Figures[] }> = [];
  for (const pipelining of pipelinings) {
    const bareRuns: Figures[] = [];
    const gwRuns: Figures[] = [];
    for (let round = 0; round < rounds; round++) {
      bareRuns.push(await load(bare, pipelining));
      gwRuns.push(await load(gateway, pipelining));
    }
    results.push({ pipelining, bare: bareRuns, gw: gwRuns });
  }
  await bare.stop();
  await gateway.stop();
  await sim.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const row = (name: string, f: Figures) =>
    `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(8)} ${String(f.p50).padStart(6)} ${String(f.p99).padStart(6)} ${f.cpuUsPerReq.toFixed(0).padStart(10)} ${String(f.non2xx).padStart(7)} ${String(f.errors).padStart(6)}`;
  console.log(`ingress benchmark — ${machineLine()}; ${connections} connections, ${seconds} s per run, ${NUMBERS} numbers, template bodies, median of ${rounds} alternating rounds`);
  for (const { pipelining, bare: bareRuns, gw: gwRuns } of results) {
    const b = median(bareRuns);
    const g = median(gwRuns);
    console.log(`\npipelining ${pipelining}`);
    console.log(`rounds req/s — bare: ${bareRuns.map((f) => f.rps.toFixed(0)).join(', ')}; sendgate: ${gwRuns.map((f) => f.rps.toFixed(0)).join(', ')}`);
    console.log(`${'target (median of rounds)'.padEnd(34)} ${'req/s'.padStart(8)} ${'p50ms'.padStart(6)} ${'p99ms'.padStart(6)} ${'cpuµs/req'.padStart(10)} ${'non2xx'.padStart(7)} ${'errors'.padStart(6)}`);
    console.log(row('bare Fastify route', b));
    console.log(row('sendgate send (durable enqueue)', g));
    console.log(`ratio of medians sendgate/bare: req/s ${(g.rps / b.rps).toFixed(2)}x (goal >= 0.50x), server CPU per request ${(g.cpuUsPerReq / b.cpuUsPerReq).toFixed(2)}x, p99 ${(g.p99 / Math.max(1, b.p99)).toFixed(2)}x (goal <= 2x)`);
  }
}

await main();
