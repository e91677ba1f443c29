/**
 * Messages per second the dispatcher delivers to the Cloud API simulator, against raw undici with
 * the same pool settings and the same concurrency, to the same simulator, in the same run.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/macro/dispatch.js [--seconds 5] [--latency-ms 50] [--no-sqlite] [--pair]
 *
 * The simulator runs in its own child process (this file with --sim), answering after a fixed
 * latency and with limits high enough that pacing is not what limits throughput. Three runs:
 *   raw       a plain loop per connection: POST, read the body, repeat;
 *   dispatch  createDispatcher + the undici upstream + the WASM core; records kept in memory;
 *   dispatch+sqlite  the same with the embedded (SQLite) store: `sending` and `sent` committed;
 *   dispatch+pair    (--pair) memory, with the pair rate on (6 s, burst 5): every message checks and
 *                    charges its (number, recipient) bucket; recipients are distinct, so none waits.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { systemClock } from '../../src/clock.js';
import { loadCore } from '../../src/core/index.js';
import { createDispatcher } from '../../src/dispatch/dispatcher.js';
import type { NumberInfo } from '../../src/dispatch/types.js';
import { startSimulator } from '../../src/sim/index.js';
import { openStore } from '../../src/store/index.js';
import type { MessageRecord, NewMessage, Store } from '../../src/store/types.js';
import { createUndiciUpstream } from '../../src/upstream/undici-upstream.js';
import { formatMachine } from '../support/machine.js';

const CONNECTIONS = 64;
const PIPELINING = 1;
const NUMBERS = 16;
const VERSION = 'v23.0';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

const body = (to: string): string =>
  JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', to: `+${to}`, type: 'text', text: { body: 'Your order A-42 has shipped.' } });

async function runSimChild(latencyMs: number): Promise<void> {
  const sim = await startSimulator({
    acceptAnyNumber: true,
    limits: { mps: 1_000_000, burst: 1_000_000, pairIntervalMs: 0 },
    faults: { latency: { kind: 'fixed', ms: latencyMs } },
  });
  process.stdout.write(`${JSON.stringify({ url: sim.url })}\n`);
  process.on('SIGTERM', () => void sim.close().then(() => process.exit(0)));
}

async function spawnSim(latencyMs: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--sim', '--latency-ms', String(latencyMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', (l) => resolve((JSON.parse(l) as { url: string }).url));
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  return { url, stop: async () => void (child.kill('SIGTERM'), await exited) };
}

/** Raw undici: CONNECTIONS loops, each POST → read body → POST …; counts answers in the window. */
async function runRaw(url: string, warmupMs: number, measureMs: number): Promise<number> {
  const pool = new Pool(url, { connections: CONNECTIONS, pipelining: PIPELINING, keepAliveTimeout: 30_000, headersTimeout: 15_000, bodyTimeout: 15_000 });
  const headers = { authorization: 'Bearer bench-token', 'content-type': 'application/json' };
  const startMs = performance.now();
  const endMs = startMs + warmupMs + measureMs;
  let counted = 0;
  let seq = 0;
  const loop = async (): Promise<void> => {
    while (performance.now() < endMs) {
      const to = `1555${String(seq++).padStart(7, '0')}`;
      const res = await pool.request({ method: 'POST', path: `/${VERSION}/${1000 + (seq % NUMBERS)}/messages`, headers, body: body(to) });
      await res.body.text();
      const t = performance.now();
      if (res.statusCode === 200 && t >= startMs + warmupMs && t < endMs) counted++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, loop));
  await pool.close();
  return counted / (measureMs / 1000);
}

/** Keeps records in memory: the dispatcher's cost without storage. */
function memoryTransitions(): Pick<Store, 'transition'> {
  return { transition: () => Promise.resolve(true) };
}

async function runDispatcher(url: string, warmupMs: number, measureMs: number, withSqlite: boolean, rawMps: number, withPair = false): Promise<number> {
  const clock = systemClock;
  const numbers = new Map<string, NumberInfo>();
  const pair = withPair ? { intervalMs: 6000, burst: 5 } : undefined;
  for (let i = 0; i < NUMBERS; i++) numbers.set(String(1000 + i), { tenantId: 'bench', accessToken: 'bench-token', mps: 100_000, burst: 100_000, pair });
  // The same capacity as the raw loop: CONNECTIONS requests in flight on CONNECTIONS sockets.
  const upstreamConfig = { baseUrl: url, version: VERSION, connections: CONNECTIONS, pipelining: PIPELINING, timeoutMs: 15_000, maxInFlight: CONNECTIONS };
  const upstream = createUndiciUpstream(upstreamConfig);
  // With the pair rate every recipient holds a GCRA key for its interval (6 s) after a send.
  const core = await loadCore({ gcraKeys: withPair ? 1 << 16 : 1 << 12, windowKeys: 1024, uniqueKeys: 1024, repeatKeys: 1024 });
  const dir = withSqlite ? mkdtempSync(join(tmpdir(), 'sendgate-bench-')) : '';
  const store = withSqlite ? await openStore({ kind: 'embedded', path: dir }, clock) : null;

  // Backlog: half again what raw undici delivered in the same time, so the queue never runs dry.
  const total = Math.ceil(((warmupMs + measureMs) / 1000) * rawMps * 1.5);
  const nowMs = clock.nowMs();
  const records: MessageRecord[] = [];
  for (let i = 0; i < total; i++) {
    const to = `1666${String(i).padStart(7, '0')}`;
    const message: NewMessage = {
      id: `b${i}`, tenantId: 'bench', phoneNumberId: String(1000 + (i % NUMBERS)), to, toInput: `+${to}`, body: body(to),
      priority: 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: null, bodyHash: null,
    };
    if (store) {
      const out = await store.enqueue(message);
      if (out.kind === 'created') records.push(out.record);
    } else {
      records.push({ ...message, state: 'queued', attempts: 0, notBeforeMs: 0, wamid: null, lastError: null, updatedAtMs: nowMs, sentAtMs: null, deliveredAtMs: null, readAtMs: null });
    }
  }

  const startMs = performance.now();
  const endMs = startMs + warmupMs + measureMs;
  let counted = 0;
  let failed = 0;
  let finals = 0;
  const dispatcher = createDispatcher({
    store: store ?? memoryTransitions(),
    upstream,
    pacer: core.gcra,
    clock,
    config: { dispatch: { headroom: 0.9, maxAttempts: 8, jitterToleranceMs: 200, maxInFlightPerNumber: 2048, retryBaseMs: 1000, retryMaxMs: 300_000 }, upstream: upstreamConfig },
    numbers,
    log: { info() {}, warn() {}, error() {} },
    onEvent(e) {
      if (e.type !== 'final') return;
      finals++;
      if (e.state !== 'sent') failed++;
      const t = performance.now();
      if (e.state === 'sent' && t >= startMs + warmupMs && t < endMs) counted++;
    },
  });
  dispatcher.recover(records);
  await new Promise((r) => setTimeout(r, endMs - performance.now()));
  await dispatcher.close();
  await upstream.close();
  if (store) {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const label = `dispatch${withSqlite ? '+sqlite' : ''}${withPair ? '+pair' : ''}`;
  if (failed > 0) console.log(`  (${label}: ${failed} messages not sent)`);
  if (finals >= total) console.log(`  (${label}: backlog ran dry; the figure is a lower bound)`);
  const full = core.stats().tableFull.gcra;
  if (full > 0) console.log(`  (${label}: ${full} pacing decisions refused by a full GCRA table)`);
  return counted / (measureMs / 1000);
}

async function main(): Promise<void> {
  const latencyMs = arg('latency-ms', 50);
  if (process.argv.includes('--sim')) return runSimChild(latencyMs);
  const measureMs = arg('seconds', 5) * 1000;
  const warmupMs = 1000;
  const sim = await spawnSim(latencyMs);
  try {
    const raw = await runRaw(sim.url, warmupMs, measureMs);
    // The first dispatcher pass in a process runs cold (JIT, pools): with --pair, one unmeasured
    // pass first, so the memory and pair-rate figures compare warm runs.
    if (process.argv.includes('--pair')) await runDispatcher(sim.url, warmupMs, measureMs, false, raw);
    const dispatch = await runDispatcher(sim.url, warmupMs, measureMs, false, raw);
    const dispatchSqlite = process.argv.includes('--no-sqlite') ? Number.NaN : await runDispatcher(sim.url, warmupMs, measureMs, true, raw);
    const dispatchPair = process.argv.includes('--pair') ? await runDispatcher(sim.url, warmupMs, measureMs, false, raw, true) : Number.NaN;
    console.log(formatMachine());
    console.log(`simulator: own process, fixed latency ${latencyMs} ms; pool: ${CONNECTIONS} connections, pipelining ${PIPELINING}; ${NUMBERS} numbers; ${measureMs / 1000} s measured after ${warmupMs / 1000} s warm-up`);
    const ceiling = latencyMs > 0 ? `(latency ceiling ${((CONNECTIONS * 1000) / latencyMs).toFixed(0)})` : '';
    console.log(`raw undici loop        ${raw.toFixed(0).padStart(7)} msg/s   ${ceiling}`);
    console.log(`dispatcher (memory)    ${dispatch.toFixed(0).padStart(7)} msg/s   ${(dispatch / raw).toFixed(2)}x raw`);
    if (!Number.isNaN(dispatchSqlite)) console.log(`dispatcher (sqlite)    ${dispatchSqlite.toFixed(0).padStart(7)} msg/s   ${(dispatchSqlite / raw).toFixed(2)}x raw`);
    if (!Number.isNaN(dispatchPair)) console.log(`dispatcher (pair rate) ${dispatchPair.toFixed(0).padStart(7)} msg/s   ${(dispatchPair / raw).toFixed(2)}x raw, ${(dispatchPair / dispatch).toFixed(2)}x memory`);
  } finally {
    await sim.stop();
  }
}

await main();
