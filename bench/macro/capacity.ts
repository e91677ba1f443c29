/**
 * Dispatch capacity: what one gateway, with its default configuration, delivers out of what its
 * numbers are allowed, at Meta-like upstream latencies.
 *
 *   npm run build && node dist/bench/macro/capacity.js [--numbers 10,50,200] [--latency 50,200,500,tail]
 *     [--backlog-sec 10] [--protocol h2|h1|plain] [--upstream JSON] [--profile DIR]
 *
 * Per scenario (numbers × latency), in separate processes started from the built CLI:
 *   simulator  `sendgate simulate`: every number at 80 msg/s with a burst of 80 (Meta's Cloud API
 *              default, a strict GCRA that refuses with 130429), answering after the latency;
 *              over TLS with HTTP/2 and HTTP/1.1 (ALPN) like graph.facebook.com, unless --protocol plain;
 *   gateway    `sendgate serve` with a config that names only the tenant, its numbers and the
 *              upstream (every other key at its default); --protocol h1 sets upstream.http2 false.
 * The backlog (numbers × 80 × backlog-sec messages) is written to the gateway's store before it
 * starts, so its boot recovery hands it to the dispatcher at once. Measured from the first message
 * at the simulator until the whole backlog was accepted there (at most 3× backlog-sec):
 *   delivered   backlog / time to deliver it, and that as a share of the allowed total (a lane
 *               starts in debt, so exactly the allowed rate from the first message is 100 %);
 *   CPU/msg     the gateway process's CPU time (all threads) per delivered message, and from it the
 *               CPU ceiling: msg/s that one process sustains at 100 % of one core;
 *   refused     answers other than 200 at the simulator (130429 and anything else): the goal is 0.
 * Goal: delivered ≥ 90 % of allowed wherever the allowed total is below the CPU ceiling.
 * `tail` is a long-tail mix: 90 % 100–300 ms, 9 % 300–1000 ms, 1 % 1–3 s.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { systemClock } from '../../src/clock.js';
import { selfSignedPair, type KeyPair } from '../../src/sim/self-signed.js';
import { openStore } from '../../src/store/index.js';
import type { NewMessage } from '../../src/store/types.js';
import { formatTable } from '../support/child.js';
import { CLI, cpuMs, freePort, machineLine, spawnServer, type Child } from './processes.js';

const { values } = parseArgs({
  options: {
    numbers: { type: 'string', default: '10,50,200' },
    latency: { type: 'string', default: '50,200,500,tail' },
    'backlog-sec': { type: 'string', default: '10' },
    protocol: { type: 'string', default: 'h2' },
    /** Extra `upstream` config keys as JSON, to measure a variant against the default (e.g. '{"streamsPerConnection":1000}'). */
    upstream: { type: 'string', default: '{}' },
    /** Write a V8 CPU profile of each gateway into this folder (open in Chrome DevTools or speedscope). */
    profile: { type: 'string' },
  },
});
const MPS = 80;
const backlogSec = Number(values['backlog-sec']);
const protocol = values.protocol as 'h2' | 'h1' | 'plain';
if (!['h2', 'h1', 'plain'].includes(protocol)) throw new Error('--protocol is h2, h1 or plain');

type Latency = { kind: 'fixed'; ms: number } | { kind: 'mix'; parts: { weight: number; minMs: number; maxMs: number }[] };

function latencyOf(name: string): Latency {
  if (name === 'tail') return { kind: 'mix', parts: [{ weight: 90, minMs: 100, maxMs: 300 }, { weight: 9, minMs: 300, maxMs: 1000 }, { weight: 1, minMs: 1000, maxMs: 3000 }] };
  return { kind: 'fixed', ms: Number(name) };
}

const body = (to: string): string =>
  JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${to}`, type: 'template', template: { name: 'order_update', language: { code: 'en' } } });

interface Row {
  numbers: number;
  latency: string;
  allowed: number;
  delivered: number;
  cpuMsPerMsg: number;
  refused: number;
  bootMs: number;
}

interface SimTotals {
  accepted: number;
  refused: number;
  byCode: Record<string, number>;
  /** First and last accept over all numbers, on the simulator's clock (ms). */
  firstMs: number;
  lastMs: number;
}

interface SimNumberView { refused: Record<string, number>; firstAcceptMs: number | null; lastAcceptMs: number | null }

async function simStats(url: string, dispatcher: Agent): Promise<SimTotals> {
  const res = await request(`${url}/__sim/stats?pairs=0`, { dispatcher });
  const stats = (await res.body.json()) as { totals: { accepted: number; refused: number }; numbers: Record<string, SimNumberView> };
  const byCode: Record<string, number> = {};
  let firstMs = Number.POSITIVE_INFINITY;
  let lastMs = Number.NEGATIVE_INFINITY;
  for (const n of Object.values(stats.numbers)) {
    for (const [code, count] of Object.entries(n.refused)) byCode[code] = (byCode[code] ?? 0) + count;
    if (n.firstAcceptMs !== null) firstMs = Math.min(firstMs, n.firstAcceptMs);
    if (n.lastAcceptMs !== null) lastMs = Math.max(lastMs, n.lastAcceptMs);
  }
  return { ...stats.totals, byCode, firstMs, lastMs };
}

async function prefill(dir: string, numbers: number, total: number): Promise<void> {
  const store = await openStore({ kind: 'embedded', path: dir }, systemClock);
  const nowMs = Date.now();
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const to = `1666${String(i).padStart(7, '0')}`;
    const message: NewMessage = {
      id: `cap${i}`, tenantId: 'bench', phoneNumberId: String(5000 + (i % numbers)), to, toInput: `+${to}`, body: body(to),
      priority: 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: null, bodyHash: null,
    };
    batch.push(store.enqueue(message));
    if (batch.length >= 2000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
  await store.close();
}

async function scenario(numbers: number, latencyName: string, tls: KeyPair | null): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-capacity-'));
  const children: Child[] = [];
  const agent = new Agent(tls ? { connect: { ca: tls.cert } } : {});
  try {
    const simPort = await freePort();
    const simConfig = {
      port: simPort, acceptAnyNumber: true,
      limits: { mps: MPS, burst: MPS, pairIntervalMs: 0 },
      faults: { latency: latencyOf(latencyName) },
      ...(tls ? { tls } : {}),
    };
    const simConfigPath = join(dir, 'sim.json');
    writeFileSync(simConfigPath, JSON.stringify(simConfig));
    const simUrl = `${tls ? 'https' : 'http'}://127.0.0.1:${simPort}`;
    const env: Record<string, string> = {};
    if (tls) {
      writeFileSync(join(dir, 'ca.pem'), tls.cert);
      env.NODE_EXTRA_CA_CERTS = join(dir, 'ca.pem');
    }
    children.push(await spawnServer([CLI, 'simulate', '--config', simConfigPath], simUrl, '/__sim/stats?pairs=0', env, agent));

    const total = numbers * MPS * backlogSec;
    const storePath = join(dir, 'store');
    await prefill(storePath, numbers, total);

    const port = await freePort();
    const config = {
      listen: { host: '127.0.0.1', port },
      storage: { kind: 'embedded', path: storePath },
      upstream: { baseUrl: simUrl, ...(protocol === 'h1' ? { http2: false } : {}), ...(JSON.parse(values.upstream) as object) },
      log: { level: 'warn' },
      tenants: [{
        id: 'bench', apiKeys: ['bench-capacity-key'], messagingLimit: 'unlimited',
        policy: { optIn: 'off', serviceWindow: 'off' },
        numbers: Array.from({ length: numbers }, (_, i) => ({ phoneNumberId: String(5000 + i), accessToken: `token-${i}`, mps: MPS, burst: MPS })),
      }],
    };
    const configPath = join(dir, 'gateway.json');
    writeFileSync(configPath, JSON.stringify(config));
    const bootStartMs = performance.now();
    const profile = values.profile === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', values.profile];
    const gateway = await spawnServer([...profile, CLI, 'serve', '--config', configPath], `http://127.0.0.1:${port}`, '/readyz', env);
    children.push(gateway);
    const bootMs = performance.now() - bootStartMs;

    // From the first message at the simulator until the backlog is all accepted there (or 3× the
    // time it should take): the backlog over the time it took is what was delivered.
    for (;;) {
      if ((await simStats(simUrl, agent)).accepted > 0) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const t0 = performance.now();
    const cpuBefore = cpuMs(gateway.process.pid);
    let after = await simStats(simUrl, agent);
    while (after.accepted < total && performance.now() - t0 < backlogSec * 3000) {
      await new Promise((r) => setTimeout(r, 50));
      after = await simStats(simUrl, agent);
    }
    const cpuAfter = cpuMs(gateway.process.pid);
    // Anything but `ok` from the gateway's side (network failures retried, Graph errors), to tell
    // a pacing fault from a transport one when the simulator refused something.
    const metrics = await (await request(`http://127.0.0.1:${port}/metrics`)).body.text();
    const notOk = metrics.split('\n').filter((l) => l.startsWith('sendgate_upstream_sends_total{') && !l.includes('outcome="ok"'));
    if (notOk.length > 0) console.error(`  (${numbers} numbers, ${latencyName}: gateway saw ${notOk.join(', ')})`);
    // The simulator's own first and last accept: polling cannot see the first send on time.
    const elapsedSec = (after.lastMs - after.firstMs) / 1000;
    // n accepts at the allowed rate span (n − 1) intervals.
    const delivered = (after.accepted - 1) / elapsedSec;
    if (after.refused > 0) console.error(`  (${numbers} numbers, ${latencyName}: refused by code ${JSON.stringify(after.byCode)})`);
    if (after.accepted < total) console.error(`  (${numbers} numbers, ${latencyName}: ${total - after.accepted} of ${total} not delivered in ${(backlogSec * 3).toFixed(0)} s)`);
    return {
      numbers, latency: latencyName, allowed: numbers * MPS, delivered,
      cpuMsPerMsg: (cpuAfter - cpuBefore) / Math.max(1, after.accepted),
      refused: after.refused, bootMs,
    };
  } finally {
    for (const child of children.reverse()) await child.stop();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const tls = protocol === 'plain' ? null : selfSignedPair();
  const rows: Row[] = [];
  for (const n of values.numbers.split(',').map(Number)) {
    for (const latency of values.latency.split(',')) {
      const row = await scenario(n, latency, tls);
      rows.push(row);
      console.error(`  ${n} numbers, ${latency}: ${row.delivered.toFixed(0)} of ${row.allowed} msg/s`);
    }
  }
  console.log(`capacity benchmark — ${machineLine()}`);
  const upstream = protocol === 'plain' ? 'plain HTTP/1.1' : protocol === 'h1' ? 'TLS, HTTP/1.1 (upstream.http2 false)' : 'TLS, HTTP/2 (default)';
  console.log(`upstream: simulator in its own process, ${upstream}; ${MPS} msg/s and burst ${MPS} per number; backlog ${backlogSec} s at the allowed rate, timed from the first send until all were accepted; gateway config defaults`);
  const table = rows.map((r) => {
    const ceiling = r.cpuMsPerMsg > 0 ? 1000 / r.cpuMsPerMsg : Number.NaN;
    const share = r.delivered / r.allowed;
    const goal = r.allowed < ceiling ? (share >= 0.9 && r.refused === 0 ? 'met' : 'MISSED') : 'above CPU';
    return [String(r.numbers), r.latency, String(r.allowed), r.delivered.toFixed(0), `${(share * 100).toFixed(1)} %`,
      r.cpuMsPerMsg.toFixed(3), ceiling.toFixed(0), String(r.refused), (r.bootMs / 1000).toFixed(1), goal];
  });
  console.log(formatTable(['numbers', 'latency ms', 'allowed/s', 'delivered/s', 'of allowed', 'CPU ms/msg', 'CPU ceiling/s', 'refused', 'boot s', 'goal'], table));
}

await main();
