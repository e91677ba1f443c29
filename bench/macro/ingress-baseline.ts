/**
 * Ingress of this build against an earlier build of sendgate, side by side in one run: the same
 * send route load (autocannon, text bodies to 100,000 recipients in turn, one number paced at
 * 1 msg/s so the dispatcher stays idle) on two gateways, rounds alternating so the machine's drift hits both.
 * Answers "is ingress lower than before?" with a ratio, not an absolute.
 *
 * Usage: build the earlier commit elsewhere (git worktree add --detach DIR REV; cp -al node_modules;
 * npm run build), then: node dist/bench/macro/ingress-baseline.js --baseline DIR/dist/src/cli.js
 *   [--seconds 5] [--connections 100] [--pipelining 1] [--rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { CLI, cpuMs, freePort, machineLine, spawnServer, tempJson, type Child } from './processes.js';

const { values } = parseArgs({ options: {
  baseline: { type: 'string' }, seconds: { type: 'string', default: '5' }, connections: { type: 'string', default: '100' },
  pipelining: { type: 'string', default: '1' }, rounds: { type: 'string', default: '5' },
} });
if (values.baseline === undefined) throw new Error('--baseline PATH/TO/dist/src/cli.js of the earlier build is required');
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const pipelining = Number(values.pipelining);
const rounds = Number(values.rounds);

const API_KEY = 'bench-key-123456';
const NUMBER = '1001';
/** Recipients in turn: one recipient for every request would only measure its pair-rate parking. */
const RECIPIENTS = 100_000;
let sent = 0;
const bodyFor = (i: number): string => JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+1650${String(1_000_000 + (i % RECIPIENTS)).slice(1)}`, type: 'text', text: { body: 'hello from the ingress benchmark' } });
const headers = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'x-sendgate-deadline': '2592000' };

interface Round { rps: number; p50: number; p99: number; cpuUsPerReq: number; non2xx: number }

async function load(target: Child): Promise<Round> {
  const url = `${target.url}/v23.0/${NUMBER}/messages`;
  const requests: autocannon.Request[] = [{ setupRequest: (req) => ({ ...req, body: bodyFor(sent++) }) }];
  await autocannon({ url, method: 'POST', headers, requests, connections, pipelining, duration: 1 }); // warm-up
  const cpuBeforeMs = cpuMs(target.process.pid);
  const r = await autocannon({ url, method: 'POST', headers, requests, connections, pipelining, duration: seconds });
  const cpuUsPerReq = ((cpuMs(target.process.pid) - cpuBeforeMs) * 1000) / Math.max(1, r.requests.total);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, cpuUsPerReq, non2xx: r.non2xx };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function startGateway(cli: string, simUrl: string, dataDir: string): Promise<Child> {
  const port = await freePort();
  const config = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'embedded', path: dataDir },
    upstream: { baseUrl: simUrl, version: 'v23.0' },
    log: { level: 'warn' },
    tenants: [{ id: 'bench', apiKeys: [API_KEY], numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-bench', mps: 1, burst: 1 }] }],
  });
  return spawnServer([cli, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
}

async function main(): Promise<void> {
  const simPort = await freePort();
  const simConfig = tempJson('sim.json', { acceptAnyNumber: true, limits: { mps: 1_000_000, burst: 1_000_000, pairIntervalMs: 0 } });
  const sim = await spawnServer([CLI, 'simulate', '--port', String(simPort), '--config', simConfig], `http://127.0.0.1:${simPort}`, '/__sim/stats');
  const dirs = [mkdtempSync(join(tmpdir(), 'sg-base-')), mkdtempSync(join(tmpdir(), 'sg-now-'))];
  const baseline = await startGateway(values.baseline!, sim.url, dirs[0]!);
  const current = await startGateway(CLI, sim.url, dirs[1]!);
  const runs: { baseline: Round[]; current: Round[] } = { baseline: [], current: [] };
  for (let round = 0; round < rounds; round++) {
    // Alternating, and which goes first alternates too.
    const order = round % 2 === 0 ? (['baseline', 'current'] as const) : (['current', 'baseline'] as const);
    for (const which of order) runs[which].push(await load(which === 'baseline' ? baseline : current));
  }
  await baseline.stop();
  await current.stop();
  await sim.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });

  const m = (which: 'baseline' | 'current', k: keyof Round) => median(runs[which].map((r) => r[k]));
  console.log(`ingress, this build vs ${values.baseline} — ${machineLine()}; ${connections} connections, pipelining ${pipelining}, ${seconds} s per run, median of ${rounds} alternating rounds`);
  for (const which of ['baseline', 'current'] as const) {
    console.log(`${which.padEnd(9)} req/s ${m(which, 'rps').toFixed(0).padStart(7)}  p50 ${m(which, 'p50')} ms  p99 ${m(which, 'p99')} ms  cpu ${m(which, 'cpuUsPerReq').toFixed(0)} µs/req  non2xx ${runs[which].reduce((n, r) => n + r.non2xx, 0)}  rounds: ${runs[which].map((r) => r.rps.toFixed(0)).join(', ')}`);
  }
  const perRound = runs.current.map((r, i) => r.rps / runs.baseline[i]!.rps);
  console.log(`ratio current/baseline req/s: median of rounds ${median(perRound).toFixed(2)}x; cpu per request ${(m('current', 'cpuUsPerReq') / m('baseline', 'cpuUsPerReq')).toFixed(2)}x`);
}

await main();
