/**
 * Fleet benchmark: gateways on one durable Redis (AOF, fsync always), every server in its own
 * process on 127.0.0.1, started from the built CLI.
 *
 *   npm run build && node dist/bench/macro/fleet.js [--parts ingress,traffic,dispatch,memory]
 *     [--seconds 3] [--rounds 3] [--connections 100] [--numbers 20] [--backlog-sec 5]
 *     [--processes 1,2,3] [--sends 2000] [--memory-messages 20000]
 *
 * ingress   autocannon against one gateway's send route on Redis vs a bare Fastify route parsing
 *           the same JSON and answering the same 202, alternating rounds, ratio of medians
 *           (goal >= 0.35x); the same gateway on embedded storage runs alongside as a reference.
 *           The gateway's number is paced at 1 mps so dispatch stays nearly idle.
 * traffic   Redis commands, socket reads and bytes per accepted send (INFO stats / commandstats
 *           deltas around a known number of sends, less the fleet's idle background over the same time).
 * dispatch  a backlog on `numbers` numbers at 80 msg/s each, through 1, 2, 3 gateway processes to
 *           the simulator answering after 50 ms: delivered msg/s and the ratio to 1 process.
 * memory    Redis used_memory per queued message (stored with no gateway on its prefix, so nothing
 *           dispatches) and per recipient the messaging limit tracks (templates to distinct
 *           recipients vs the same count to one recipient, through a gateway).
 * Defaults finish in about a minute and a half.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Pool, request } from 'undici';
import { systemClock } from '../../src/clock.js';
import { openStore } from '../../src/store/index.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import type { RedisStore } from '../../src/store/redis/redis-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { formatTable } from '../support/child.js';
import { CLI, cpuMs, freePort, machineLine, spawnServer, tempJson, type Child } from './processes.js';
import { infoNumbers, startBenchRedis, trafficDelta, trafficSnapshot, type BenchRedis, type TrafficDelta } from './redis-server.js';

const { values } = parseArgs({ options: {
  parts: { type: 'string', default: 'ingress,traffic,dispatch,memory' },
  seconds: { type: 'string', default: '3' },
  rounds: { type: 'string', default: '3' },
  connections: { type: 'string', default: '100' },
  numbers: { type: 'string', default: '20' },
  'backlog-sec': { type: 'string', default: '5' },
  processes: { type: 'string', default: '1,2,3' },
  sends: { type: 'string', default: '2000' },
  'memory-messages': { type: 'string', default: '20000' },
} });
const parts = new Set(values.parts.split(','));
const MPS = 80;
const LATENCY_MS = 50;
const TENANT = 'bench';
const API_KEY = 'bench-fleet-key-1';
const ADMIN = 'bench-fleet-admin-token';

const textBody = (to: string): string =>
  JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${to}`, type: 'text', text: { body: 'hello from the fleet benchmark' } });
const templateBody = (to: string): string =>
  JSON.stringify({ messaging_product: 'whatsapp', to: `+${to}`, type: 'template', template: { name: 'order_update', language: { code: 'en' } } });
const sendHeaders = { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', 'x-sendgate-deadline': '2592000' };

interface GatewayOptions {
  prefix: string;
  numbers: readonly string[];
  mps: number;
  leaseTtlMs?: number;
  /** Embedded storage in this folder instead of Redis: the single-process reference. */
  embeddedPath?: string;
}

async function startGateway(redis: BenchRedis, simUrl: string, o: GatewayOptions): Promise<Child> {
  const port = await freePort();
  const config = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port },
    storage: o.embeddedPath !== undefined
      ? { kind: 'embedded', path: o.embeddedPath }
      : { kind: 'redis', url: redis.url, prefix: o.prefix, ...(o.leaseTtlMs === undefined ? {} : { leaseTtlMs: o.leaseTtlMs }) },
    upstream: { baseUrl: simUrl, version: 'v23.0' },
    admin: { token: ADMIN },
    log: { level: 'warn' },
    tenants: [{
      // A numeric limit (not "unlimited"): templates go through the shared messaging-limit script.
      id: TENANT, apiKeys: [API_KEY], messagingLimit: 100000,
      policy: { optIn: 'off', serviceWindow: 'off' },
      numbers: o.numbers.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}`, mps: o.mps, burst: o.mps })),
    }],
  });
  return spawnServer([CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
}

/** `count` POSTs of `bodyOf(i)`, `concurrency` at a time; resolves with the number answered 2xx. */
async function sendMany(url: string, number: string, count: number, bodyOf: (i: number) => string, extra: (i: number) => Record<string, string> = () => ({})): Promise<number> {
  const pool = new Pool(url, { connections: 32 });
  let next = 0;
  let ok = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      const res = await pool.request({ path: `/v23.0/${number}/messages`, method: 'POST', headers: { ...sendHeaders, ...extra(i) }, body: bodyOf(i) });
      await res.body.dump();
      if (res.statusCode < 300) ok++;
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  await pool.close();
  return ok;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

// ---- ingress ---------------------------------------------------------------------------------

interface LoadFigures { rps: number; p50: number; p99: number; non2xx: number; cpuUsPerReq: number; redisCpuUsPerReq: number }

async function load(target: Child, redis: BenchRedis | null, warm: boolean): Promise<LoadFigures> {
  const opts = { url: `${target.url}/v23.0/1001/messages`, method: 'POST' as const, headers: sendHeaders, body: textBody('16505551234'), connections: Number(values.connections) };
  if (warm) await autocannon({ ...opts, duration: 1 }); // JIT and connections warm before the first round, not measured
  const cpu0 = cpuMs(target.process.pid);
  const redis0 = redis?.cpuMs() ?? 0;
  const r = await autocannon({ ...opts, duration: Number(values.seconds) });
  const n = Math.max(1, r.requests.total);
  return {
    rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx + r.errors,
    cpuUsPerReq: ((cpuMs(target.process.pid) - cpu0) * 1000) / n,
    redisCpuUsPerReq: redis === null ? 0 : ((redis.cpuMs() - redis0) * 1000) / n,
  };
}

async function ingress(redis: BenchRedis, simUrl: string, gateway: Child): Promise<string[]> {
  const barePort = await freePort();
  const bare = await spawnServer([new URL('./bare-server.js', import.meta.url).pathname, String(barePort)], `http://127.0.0.1:${barePort}`, '/healthz');
  // The same gateway on embedded storage: how much of the gap to bare is Redis's.
  const dataDir = mkdtempSync(join(tmpdir(), 'sendgate-bench-embedded-'));
  const embedded = await startGateway(redis, simUrl, { prefix: '', numbers: ['1001'], mps: 1, embeddedPath: dataDir });
  const runs: Record<'bare' | 'embedded' | 'redis', LoadFigures[]> = { bare: [], embedded: [], redis: [] };
  try {
    // Alternating rounds: drift in the machine's load hits every target alike.
    for (let round = 0; round < Number(values.rounds); round++) {
      runs.bare.push(await load(bare, null, round === 0));
      runs.redis.push(await load(gateway, redis, round === 0));
      runs.embedded.push(await load(embedded, null, round === 0));
    }
  } finally {
    await bare.stop();
    await embedded.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const pick = (list: LoadFigures[]) => list.find((f) => f.rps === median(list.map((x) => x.rps)))!;
  const b = pick(runs.bare);
  const g = pick(runs.redis);
  const e = pick(runs.embedded);
  const row = (name: string, f: LoadFigures, redisCol: boolean) => [name, f.rps.toFixed(0), `${(f.rps / b.rps).toFixed(2)}x`, String(f.p50), String(f.p99), f.cpuUsPerReq.toFixed(0), redisCol ? f.redisCpuUsPerReq.toFixed(0) : '-', String(f.non2xx)];
  const list = (l: LoadFigures[]) => l.map((f) => f.rps.toFixed(0)).join(', ');
  return [
    `(a) ingress: ${values.connections} connections, ${values.seconds} s per run, median of ${values.rounds} alternating rounds`,
    `    rounds req/s — bare: ${list(runs.bare)}; sendgate on Redis: ${list(runs.redis)}; sendgate embedded: ${list(runs.embedded)}`,
    formatTable(['target', 'req/s', 'of bare', 'p50 ms', 'p99 ms', 'server CPU µs/req', 'Redis CPU µs/req', 'non-2xx'], [
      row('bare Fastify route', b, false),
      row('sendgate send, Redis AOF always', g, true),
      row('sendgate send, embedded (reference)', e, false),
    ]),
    `    ratio sendgate on Redis / bare: ${(g.rps / b.rps).toFixed(2)}x (goal >= 0.35x); Redis / embedded: ${(g.rps / e.rps).toFixed(2)}x`,
  ];
}

// ---- traffic ---------------------------------------------------------------------------------

async function traffic(redis: BenchRedis, gateway: Child): Promise<string[]> {
  const n = Number(values.sends);
  // What the fleet does with nothing to do (heartbeats, lease renewals, resyncs), per ms.
  const idle0 = await trafficSnapshot(redis.client);
  const idleStart = performance.now();
  await sleep(2000);
  const idle = trafficDelta(idle0, await trafficSnapshot(redis.client));
  const idleMs = performance.now() - idleStart;
  const kinds: Array<[string, (i: number) => string, (i: number) => Record<string, string>]> = [
    ['text', (i) => textBody(`1650555${String(i).padStart(4, '0')}`), () => ({})],
    ['text + Idempotency-Key', (i) => textBody(`1650556${String(i).padStart(4, '0')}`), (i) => ({ 'idempotency-key': `bench-${i}-${Date.now()}` })],
    ['template (messaging limit, new recipient)', (i) => templateBody(`1650557${String(i).padStart(4, '0')}`), () => ({})],
  ];
  const rows: string[][] = [];
  for (const [name, bodyOf, extra] of kinds) {
    const a = await trafficSnapshot(redis.client);
    const t0 = performance.now();
    const ok = await sendMany(gateway.url, '1001', n, bodyOf, extra);
    const d = trafficDelta(a, await trafficSnapshot(redis.client));
    const scale = (performance.now() - t0) / idleMs;
    const per = (x: number, idleX: number) => ((x - idleX * scale) / Math.max(1, ok)).toFixed(1);
    const top = Object.entries(d.byCommand).sort((x, y) => y[1] - x[1]).slice(0, 4)
      .map(([c, calls]) => `${c} ${(calls / Math.max(1, ok)).toFixed(2)}`).join(', ');
    rows.push([name, String(ok), per(d.commands, idle.commands), per(d.reads, idle.reads), per(d.inBytes, idle.inBytes), per(d.outBytes, idle.outBytes), top]);
  }
  return [
    `(b) Redis traffic per accepted send (${n} sends, 64 at a time; idle background over the same time subtracted: ${(idle.commands / (idleMs / 1000)).toFixed(0)} commands/s)`,
    formatTable(['send', 'accepted', 'commands (incl. in scripts)', 'socket reads', 'bytes in', 'bytes out', 'calls per send (top 4)'], rows),
  ];
}

// ---- dispatch --------------------------------------------------------------------------------

interface SimView {
  totals: { accepted: number; refused: number };
  numbers: Record<string, { firstAcceptMs: number | null; lastAcceptMs: number | null; refused: Record<string, number> }>;
}

async function simStats(simUrl: string): Promise<SimView> {
  return (await (await request(`${simUrl}/__sim/stats?pairs=0`)).body.json()) as SimView;
}

/** Resolves once every number's lease is held and `processes` distinct members hold them, twice in a row. */
async function leasesSpread(store: RedisStore, numbers: readonly string[], processes: number): Promise<void> {
  let stable = 0;
  const deadline = Date.now() + 30_000;
  while (stable < 2) {
    if (Date.now() > deadline) throw new Error(`leases not spread over ${processes} processes within 30 s`);
    const held = await Promise.all(numbers.map((id) => store.client.get(store.keys.numberLease(TENANT, id))));
    const owners = new Set(held.map((h) => h?.slice(h.indexOf(' ') + 1)));
    stable = held.every((h) => h !== null) && owners.size === processes ? stable + 1 : 0;
    await sleep(500);
  }
}

async function admin(gateway: Child, path: string): Promise<void> {
  const res = await request(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}` } });
  await res.body.dump();
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode}`);
}

/** The numbers' fencing tokens: each new lease holder increments one, so a change is a lease that moved. */
async function fences(store: RedisStore, numbers: readonly string[]): Promise<number> {
  const tokens = await Promise.all(numbers.map((id) => store.client.get(store.keys.numberFence(TENANT, id))));
  return tokens.reduce((sum, t) => sum + Number(t ?? 0), 0);
}

async function enqueueBacklog(store: RedisStore, numbers: readonly string[], total: number, tag: string): Promise<void> {
  const nowMs = Date.now();
  const batch: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const to = `1777${String(i).padStart(7, '0')}`;
    const message: NewMessage = {
      id: `${tag}${i}`, tenantId: TENANT, phoneNumberId: numbers[i % numbers.length]!, to, toInput: `+${to}`, body: textBody(to),
      priority: 0, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: null, bodyHash: null,
    };
    batch.push(store.enqueue(message));
    if (batch.length >= 1000) await Promise.all(batch.splice(0));
  }
  await Promise.all(batch);
}

interface DispatchRow { processes: number; delivered: number; refused: string; moves: number; cpuMsPerMsg: number; redisCpuMsPerMsg: number; commandsPerMsg: number; missing: number }

async function dispatchRun(redis: BenchRedis, simUrl: string, processes: number): Promise<DispatchRow> {
  const numbers = Array.from({ length: Number(values.numbers) }, (_, i) => String(5000 + i));
  const total = numbers.length * MPS * Number(values['backlog-sec']);
  const prefix = `dispatch${processes}`;
  // A short lease: members settle (a joining process takes its share) within a second or two.
  const gateways: Child[] = [];
  // The backlog's wake notices reach the owners at once (origin 'bench' is no member).
  const store = (await openStore({ kind: 'redis', url: redis.url, prefix }, systemClock, undefined, 'bench')) as RedisStore;
  try {
    for (let i = 0; i < processes; i++) gateways.push(await startGateway(redis, simUrl, { prefix, numbers, mps: MPS, leaseTtlMs: 3000 }));
    await leasesSpread(store, numbers, processes);
    const fences0 = await fences(store, numbers);
    // The backlog is stored while the tenant is paused (through any one process: the pause reaches
    // every owner), so its rate is not bounded by how fast this process stores it.
    await admin(gateways[0]!, `/admin/tenants/${TENANT}/pause`);
    await sleep(300);
    await request(`${simUrl}/__sim/reset`, { method: 'POST' }).then((r) => r.body.dump());
    const prefillStart = performance.now();
    await enqueueBacklog(store, numbers, total, `d${processes}-`);
    const prefillMs = performance.now() - prefillStart;
    const leaked = (await simStats(simUrl)).totals.accepted;
    if (leaked > 0) console.error(`  (${processes} process(es): ${leaked} sent while paused)`);
    console.error(`  (${processes} process(es): ${total} stored in ${prefillMs.toFixed(0)} ms)`);
    // From here on the store is idle: what Redis processes is the fleet's dispatch.
    const accepted0 = leaked;
    await admin(gateways.at(-1)!, `/admin/tenants/${TENANT}/resume`);
    const traffic0 = await trafficSnapshot(redis.client);
    const cpu0 = gateways.map((g) => cpuMs(g.process.pid));
    const redisCpu0 = redis.cpuMs();
    const t0 = performance.now();
    let stats = await simStats(simUrl);
    while (stats.totals.accepted < total && performance.now() - t0 < Number(values['backlog-sec']) * 3000) {
      await sleep(50);
      stats = await simStats(simUrl);
    }
    const moves = (await fences(store, numbers)) - fences0;
    const cpuMsUsed = gateways.reduce((sum, g, i) => sum + cpuMs(g.process.pid) - cpu0[i]!, 0);
    const redisCpuMs = redis.cpuMs() - redisCpu0;
    const d: TrafficDelta = trafficDelta(traffic0, await trafficSnapshot(redis.client));
    const sentDuring = Math.max(1, stats.totals.accepted - accepted0);
    // The simulator's own first and last accept: n accepts at the allowed rate span n − 1 intervals.
    let first = Number.POSITIVE_INFINITY;
    let last = Number.NEGATIVE_INFINITY;
    const byCode: Record<string, number> = {};
    for (const n of Object.values(stats.numbers)) {
      if (n.firstAcceptMs !== null) first = Math.min(first, n.firstAcceptMs);
      if (n.lastAcceptMs !== null) last = Math.max(last, n.lastAcceptMs);
      for (const [code, count] of Object.entries(n.refused)) byCode[code] = (byCode[code] ?? 0) + count;
    }
    const refused = Object.entries(byCode).map(([code, count]) => `${count} × ${code}`).join(', ');
    return {
      processes, delivered: (stats.totals.accepted - 1) / ((last - first) / 1000), refused: refused === '' ? '0' : refused,
      cpuMsPerMsg: cpuMsUsed / sentDuring, redisCpuMsPerMsg: redisCpuMs / sentDuring, commandsPerMsg: d.commands / sentDuring,
      missing: total - stats.totals.accepted, moves,
    };
  } finally {
    for (const g of gateways.reverse()) await g.stop();
    await store.close();
  }
}

async function dispatch(redis: BenchRedis, simUrl: string): Promise<string[]> {
  const counts = values.processes.split(',').map(Number);
  const rows: DispatchRow[] = [];
  for (const p of counts) {
    rows.push(await dispatchRun(redis, simUrl, p));
    console.error(`  dispatch through ${p} process(es): ${rows.at(-1)!.delivered.toFixed(0)} msg/s`);
  }
  const allowed = Number(values.numbers) * MPS;
  const base = rows[0]!.delivered;
  return [
    `(c) dispatch: ${values.numbers} numbers × ${MPS} msg/s (allowed ${allowed} msg/s), backlog ${values['backlog-sec']} s of it, simulator at ${LATENCY_MS} ms; timed at the simulator from first to last accept`,
    formatTable(['processes', 'delivered msg/s', 'of allowed', `ratio to ${rows[0]!.processes}`, 'refused', 'not delivered', 'lease moves', 'gateway CPU ms/msg', 'Redis CPU ms/msg', 'Redis commands/msg'], rows.map((r) => [
      String(r.processes), r.delivered.toFixed(0), `${((r.delivered / allowed) * 100).toFixed(1)} %`, `${(r.delivered / base).toFixed(2)}x`,
      r.refused, String(r.missing), String(r.moves), r.cpuMsPerMsg.toFixed(3), r.redisCpuMsPerMsg.toFixed(3), r.commandsPerMsg.toFixed(1),
    ])),
  ];
}

// ---- memory ----------------------------------------------------------------------------------

async function usedMemory(redis: BenchRedis): Promise<number> {
  await sleep(200); // replies and client buffers drained
  return (await infoNumbers(redis.client, 'memory')).used_memory!;
}

/** Bytes of the messaging-limit keys of the gateway's tenant (prefix 'ingress'), as Redis counts them. */
async function ledgerBytes(redis: BenchRedis): Promise<number> {
  const { tierRing, tierMembers, tierHolders } = new RedisKeys('ingress').policyBudget(TENANT);
  const sizes = await Promise.all([tierRing, tierMembers, tierHolders].map((k) => redis.client.memory('USAGE', k, 'SAMPLES', 0)));
  return sizes.reduce<number>((sum, b) => sum + (b ?? 0), 0);
}

async function memory(redis: BenchRedis, gateway: Child): Promise<string[]> {
  const m = Number(values['memory-messages']);
  const numbers = Array.from({ length: 20 }, (_, i) => String(7000 + i));
  // No gateway runs on this prefix: the messages stay queued.
  const store = (await openStore({ kind: 'redis', url: redis.url, prefix: 'memory' }, systemClock)) as RedisStore;
  const before = await usedMemory(redis);
  await enqueueBacklog(store, numbers, m, 'm');
  const perMessage = (await usedMemory(redis) - before) / m;
  await store.close();

  // Templates to m distinct recipients vs m to one: the difference is what a new recipient costs
  // (its messaging-limit entry and any other per-recipient state); the messages themselves cancel out.
  const distinct0 = await usedMemory(redis);
  const ledger0 = await ledgerBytes(redis);
  const okDistinct = await sendMany(gateway.url, '1001', m, (i) => templateBody(`1880${String(i).padStart(7, '0')}`));
  const distinct = await usedMemory(redis) - distinct0;
  const ledger = await ledgerBytes(redis) - ledger0;
  const same0 = await usedMemory(redis);
  const okSame = await sendMany(gateway.url, '1001', m, () => templateBody('18899999999'));
  const same = await usedMemory(redis) - same0;
  return [
    `(d) Redis memory (used_memory deltas, ${m} each; they move in steps as Redis's hash tables double)`,
    formatTable(['what', 'bytes each', 'note'], [
      ['queued message (record, id index, queue entry)', perMessage.toFixed(0), `text body ${textBody('17770000000').length} B, no Idempotency-Key, nothing dispatching`],
      ['accepted template, same recipient each time', (same / Math.max(1, okSame)).toFixed(0), `${okSame} accepted through a gateway`],
      ['accepted template, a new recipient each time', (distinct / Math.max(1, okDistinct)).toFixed(0), `${okDistinct} accepted`],
      ['tracked recipient (difference of the two)', ((distinct / Math.max(1, okDistinct)) - (same / Math.max(1, okSame))).toFixed(0), 'kept for the moving 24 h of the messaging limit'],
      ['tracked recipient (MEMORY USAGE of the ledger keys)', (ledger / Math.max(1, okDistinct)).toFixed(0), 'exact: the tenant\'s tier ring, members and holders'],
    ]),
  ];
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const startedMs = performance.now();
  const redis = await startBenchRedis();
  let sim: Child | undefined;
  const out = new Map<string, string[]>();
  try {
    const simPort = await freePort();
    const simConfig = tempJson('sim.json', {
      host: '127.0.0.1', port: simPort, acceptAnyNumber: true,
      limits: { mps: MPS, burst: MPS, pairIntervalMs: 0 },
      faults: { latency: { kind: 'fixed', ms: LATENCY_MS } },
    });
    sim = await spawnServer([CLI, 'simulate', '--config', simConfig], `http://127.0.0.1:${simPort}`, '/__sim/stats?pairs=0');
    // One gateway paced at 1 mps on number 1001 serves ingress, traffic and the memory of recipients.
    const needsGateway = parts.has('ingress') || parts.has('traffic') || parts.has('memory');
    const gateway = needsGateway ? await startGateway(redis, sim.url, { prefix: 'ingress', numbers: ['1001'], mps: 1 }) : null;
    try {
      if (parts.has('ingress')) out.set('ingress', await ingress(redis, sim.url, gateway!));
      if (parts.has('traffic')) out.set('traffic', await traffic(redis, gateway!));
      if (parts.has('memory')) out.set('memory', await memory(redis, gateway!));
    } finally {
      await gateway?.stop();
    }
    if (parts.has('dispatch')) out.set('dispatch', await dispatch(redis, sim.url));
  } finally {
    await sim?.stop();
    await redis.stop();
  }
  console.log(`fleet benchmark — ${machineLine()}; redis-server ${redisVersion()} (appendonly yes, appendfsync always), every server its own process; ${((performance.now() - startedMs) / 1000).toFixed(0)} s`);
  for (const part of ['ingress', 'traffic', 'dispatch', 'memory']) {
    const lines = out.get(part);
    if (lines !== undefined) console.log(`\n${lines.join('\n')}`);
  }
}

function redisVersion(): string {
  return /v=(\S+)/.exec(spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '?';
}

await main();
