/**
 * Ingress benchmark: autocannon against the gateway's send route (auth, validation, durable
 * enqueue with group commit, dispatch hand-off) vs a bare Fastify route measured in the same run.
 * Goal: gateway >= 0.5x bare.
 *
 * The gateway's number is paced at 1 mps with a 30-day deadline so the dispatcher stays nearly idle
 * and the figure is the ingress path; the simulator is its upstream in its own process.
 * Usage: npm run build && node dist/bench/macro/ingress.js [--seconds 5] [--connections 100]
 */
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { CLI, cpuMs, freePort, machineLine, spawnServer, tempJson, type Child } from './processes.js';

const { values } = parseArgs({ options: {
  seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '100' }, rounds: { type: 'string', default: '3' },
} });
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const rounds = Number(values.rounds);

const API_KEY = 'bench-key-123456';
const NUMBER = '1001';
const body = JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: '+16505551234', type: 'text', text: { body: 'hello from the ingress benchmark' } });
const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'x-sendgate-deadline': '2592000' };

interface Figures { rps: number; p50: number; p99: number; non2xx: number; errors: number; cpuUsPerReq: number }

async function load(target: Child): Promise<Figures> {
  const url = `${target.url}/v23.0/${NUMBER}/messages`;
  // Short warm-up so JIT and connection setup are not measured.
  await autocannon({ url, method: 'POST', headers, body, connections, duration: 1 });
  const cpuBeforeMs = cpuMs(target.process.pid);
  const r = await autocannon({ url, method: 'POST', headers, body, connections, duration: seconds });
  // The server's own CPU (all its threads) per request: steadier than req/s on a shared machine.
  const cpuUsPerReq = ((cpuMs(target.process.pid) - cpuBeforeMs) * 1000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, cpuUsPerReq };
}

/** Median by req/s of several rounds. */
function median(runs: Figures[]): Figures {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)]!;
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
    tenants: [{ id: 'bench', apiKeys: [API_KEY], numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-bench', mps: 1, burst: 1 }] }],
  });
  const gateway = await spawnServer([CLI, 'serve', '--config', gwConfig], `http://127.0.0.1:${gwPort}`, '/readyz');
  const bareRuns: Figures[] = [];
  const gwRuns: Figures[] = [];
  for (let round = 0; round < rounds; round++) {
    bareRuns.push(await load(bare));
    gwRuns.push(await load(gateway));
  }
  await bare.stop();
  await gateway.stop();
  const bareFigures = median(bareRuns);
  const gwFigures = median(gwRuns);
  await sim.stop();
  rmSync(dataDir, { recursive: true, force: true });

  const row = (name: string, f: Figures) =>
    `${name.padEnd(34)} ${f.rps.toFixed(0).padStart(8)} ${String(f.p50).padStart(6)} ${String(f.p99).padStart(6)} ${f.cpuUsPerReq.toFixed(0).padStart(10)} ${String(f.non2xx).padStart(7)} ${String(f.errors).padStart(6)}`;
  console.log(`ingress benchmark — ${machineLine()}; ${connections} connections, ${seconds} s per run, median of ${rounds} alternating rounds`);
  console.log(`rounds req/s — bare: ${bareRuns.map((f) => f.rps.toFixed(0)).join(', ')}; sendgate: ${gwRuns.map((f) => f.rps.toFixed(0)).join(', ')}`);
  console.log(`${'target'.padEnd(34)} ${'req/s'.padStart(8)} ${'p50ms'.padStart(6)} ${'p99ms'.padStart(6)} ${'cpuµs/req'.padStart(10)} ${'non2xx'.padStart(7)} ${'errors'.padStart(6)}`);
  console.log(row('bare Fastify route', bareFigures));
  console.log(row('sendgate send (durable enqueue)', gwFigures));
  console.log(`ratio sendgate/bare: ${(gwFigures.rps / bareFigures.rps).toFixed(2)}x (goal >= 0.50x)`);
}

await main();
