/**
 * A real fleet for tests: a durable redis-server, the Cloud API simulator, and N gateway processes
 * (`sendgate serve`, the built CLI) on that Redis. Each gateway reaches the simulator through its
 * own counting proxy, so a test can tell which process sent what and when.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { CLI, freePort, spawnServer, tempJson, type Child } from '../../bench/macro/processes.js';
import type { SimStats } from '../../src/sim/index.js';
import { startRedis, type RedisServer } from './redis-server.js';
import { transpileChild } from './transpile-child.js';

export const API_KEY = 'key-fleet-test-1';
export const ADMIN = 'admin-token-fleet';
/** Network jitter the pair-rate check at the simulator forgives (the gateway's own tolerance is 200 ms for throughput). */
export const PAIR_JITTER_MS = 300;

/** The simulator and the gateways' counting proxies, in their own process (fleet-upstream-child.ts). */
export interface Upstream {
  simUrl: string;
  proxies: string[];
  stats(): Promise<SimStats>;
  /** Arrival times (ms) of the requests gateway `index` sent upstream. */
  arrivals(index: number): Promise<number[]>;
  /** Messages the simulator accepted per recipient (wa_id) of one number. */
  recipients(number: string): Promise<Record<string, number>>;
  close(): Promise<void>;
}

async function startUpstream(sim: Record<string, unknown>, proxies: number): Promise<Upstream> {
  const js = transpileChild('test/support/fleet-upstream-child.ts', mkdtempSync(join(tmpdir(), 'sendgate-fleet-up-')));
  const child = spawn(process.execPath, [js, JSON.stringify({ sim, proxies })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`fleet upstream exited (${code})`)));
  });
  const { simUrl, proxies: urls } = JSON.parse(first) as { simUrl: string; proxies: string[] };
  const json = async <T>(url: string): Promise<T> => (await (await request(url)).body.json()) as T;
  return {
    simUrl, proxies: urls,
    stats: () => json<SimStats>(`${simUrl}/__sim/stats?pairs=0`),
    arrivals: (index) => json<number[]>(`${urls[index]}/__arrivals`),
    recipients: async (number) => {
      const pairs = (await json<SimStats>(`${simUrl}/__sim/stats`)).pairs[number] ?? {};
      return Object.fromEntries(Object.entries(pairs).map(([to, p]) => [to, p.accepted]));
    },
    close: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    }),
  };
}

export interface FleetOptions {
  gateways: number;
  numbers: readonly string[];
  mps: number;
  burst: number;
  /** Pair rate configured at the gateway and enforced by the simulator. */
  pairIntervalMs: number;
  leaseTtlMs: number;
  messagingLimit?: number | 'unlimited';
  /** Simulator answer latency, ms (default 5). */
  latencyMs?: number;
  /** The gateways' `limits` (queue caps). */
  limits?: Record<string, number>;
}

export interface FleetGateway {
  index: number;
  child: Child;
  url: string;
}

export interface Fleet {
  redis: RedisServer;
  upstream: Upstream;
  gateways: FleetGateway[];
  prefix: string;
  /** Starts gateway `index` again (a new process, same port and proxy). */
  restart(index: number): Promise<FleetGateway>;
  kill9(index: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const redis = await startRedis();
  const latency = o.latencyMs ?? 5;
  const upstream = await startUpstream({
    // The simulator's pair window is a little shorter than the gateway's: a conforming sender's
    // messages may reach it up to the jitter tolerance bunched (the proxy hop, five busy processes on two cores).
    // Its bucket is two more than the gateway's for the same reason (100 ms more at 20 msg/s).
    limits: { mps: o.mps, burst: o.burst + 2, pairIntervalMs: Math.max(0, o.pairIntervalMs - PAIR_JITTER_MS), pairBurst: 1 },
    faults: { latency: { kind: 'fixed', ms: latency } },
    numbers: o.numbers.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}` })),
  }, o.gateways);
  const prefix = `fleet${process.pid}`;
  const config = (port: number, upstream: string): string => tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port },
    storage: { kind: 'redis', url: redis.url, prefix, leaseTtlMs: o.leaseTtlMs },
    upstream: { baseUrl: upstream, version: 'v23.0' },
    admin: { token: ADMIN },
    ...(o.limits === undefined ? {} : { limits: o.limits }),
    log: { level: 'warn' },
    tenants: [{
      id: 'fleet', apiKeys: [API_KEY], messagingLimit: o.messagingLimit ?? 'unlimited',
      policy: { pairRate: { intervalSec: o.pairIntervalMs / 1000, burst: 1 } },
      numbers: o.numbers.map((id) => ({ phoneNumberId: id, accessToken: `EAAG-${id}`, mps: o.mps, burst: o.burst })),
    }],
  });
  const ports: number[] = [];
  const launch = async (index: number): Promise<FleetGateway> => {
    const child = await spawnServer([CLI, 'serve', '--config', config(ports[index]!, upstream.proxies[index]!)], `http://127.0.0.1:${ports[index]}`, '/readyz');
    return { index, child, url: child.url };
  };
  const gateways: FleetGateway[] = [];
  for (let i = 0; i < o.gateways; i++) ports.push(await freePort());
  for (let i = 0; i < o.gateways; i++) gateways.push(await launch(i));
  return {
    redis, upstream, gateways, prefix,
    async restart(index) {
      gateways[index] = await launch(index);
      return gateways[index]!;
    },
    async kill9(index) {
      const child = gateways[index]!.child.process;
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    },
    async stop() {
      // A process killed by the test has exited already (stop() would wait for an exit that happened).
      await Promise.all(gateways.filter((g) => g.child.process.exitCode === null && g.child.process.signalCode === null).map((g) => g.child.stop()));
      await upstream.close();
      await redis.stop();
    },
  };
}

export interface SendAnswer {
  status: number;
  /** `messages[0].id`: the gateway's id, or with `Prefer: wait` the wamid. */
  id: string | null;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

export async function sendBody(url: string, number: string, body: unknown, headers: Record<string, string> = {}): Promise<SendAnswer> {
  const res = await request(`${url}/v23.0/${number}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const parsed = (await res.body.json().catch(() => ({}))) as Record<string, unknown> & { messages?: Array<{ id: string }> };
  return { status: res.statusCode, id: parsed.messages?.[0]?.id ?? null, body: parsed, headers: res.headers };
}

export const send = (url: string, number: string, to: string, text: string, headers: Record<string, string> = {}): Promise<SendAnswer> =>
  sendBody(url, number, { messaging_product: 'whatsapp', to, type: 'text', text: { body: text } }, headers);

export async function messageState(url: string, id: string): Promise<string | null> {
  const res = await request(`${url}/v1/messages/${id}`, { headers: { authorization: `Bearer ${API_KEY}` } });
  if (res.statusCode !== 200) {
    await res.body.dump();
    return null;
  }
  return ((await res.body.json()) as { state?: string; status?: string }).state ?? null;
}

export { until } from './until.js';
