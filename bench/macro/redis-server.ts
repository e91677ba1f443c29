/**
 * A durable redis-server for macro benchmarks, in its own process on a free 127.0.0.1 port: AOF
 * with fsync on every write and no RDB snapshots (what the gateway requires by default), in a
 * temp dir removed on stop. Plus the INFO figures the fleet benchmark reads around its runs.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { cpuMs, freePort } from './processes.js';

export interface BenchRedis {
  url: string;
  /** A plain client for INFO, CONFIG and reading keys (not the gateway's). */
  client: Redis;
  /** CPU time of the server process, ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

export async function startBenchRedis(): Promise<BenchRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
    // No AOF rewrite mid-run: its buffers would show up in the memory figures.
    '--auto-aof-rewrite-percentage', '0'], { stdio: 'ignore' });
  const failed = new Promise<never>((_ok, fail) => {
    child.once('error', (e) => fail(new Error(`cannot start redis-server: ${e.message}`)));
    child.once('exit', (code) => fail(new Error(`redis-server exited at start (${code})`)));
  });
  failed.catch(() => undefined);
  let client: Redis;
  try {
    client = await Promise.race([connectWithin(port, 10_000), failed]);
  } catch (error) {
    child.kill('SIGKILL'); // a server that never answered is not left behind
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    client,
    cpuMs: () => cpuMs(child.pid),
    async stop() {
      client.disconnect();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A client once the server answers (it takes a moment to listen after spawn). */
async function connectWithin(port: number, timeoutMs: number): Promise<Redis> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null });
    client.on('error', () => undefined); // a refused first attempt is expected; connect() reports it
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (error) {
      client.disconnect();
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} not up in ${timeoutMs} ms: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

/** `INFO <section>` as numbers by field (non-numeric fields dropped). */
export async function infoNumbers(client: Redis, section: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await client.info(section)).split('\r\n')) {
    const [k, v] = line.split(':');
    if (k !== undefined && v !== undefined && v !== '' && !Number.isNaN(Number(v))) out[k] = Number(v);
  }
  return out;
}

/** Calls per command from `INFO commandstats` (`cmdstat_evalsha:calls=3,...`). */
export async function commandCalls(client: Redis): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const line of (await client.info('commandstats')).split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m !== null) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * What the server processed between two snapshots: commands, socket reads (a client's pipelined
 * commands arrive in one read: the closest the server comes to counting round trips), bytes in
 * and out, and calls per command.
 */
export interface TrafficDelta { commands: number; reads: number; inBytes: number; outBytes: number; byCommand: Record<string, number> }

export async function trafficSnapshot(client: Redis): Promise<{ stats: Record<string, number>; calls: Record<string, number> }> {
  return { stats: await infoNumbers(client, 'stats'), calls: await commandCalls(client) };
}

export function trafficDelta(
  a: Awaited<ReturnType<typeof trafficSnapshot>>, b: Awaited<ReturnType<typeof trafficSnapshot>>,
): TrafficDelta {
  const byCommand: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.calls)) {
    const d = v - (a.calls[k] ?? 0);
    if (d > 0) byCommand[k] = d;
  }
  return {
    commands: b.stats.total_commands_processed! - a.stats.total_commands_processed!,
    reads: b.stats.total_reads_processed! - a.stats.total_reads_processed!,
    inBytes: b.stats.total_net_input_bytes! - a.stats.total_net_input_bytes!,
    outBytes: b.stats.total_net_output_bytes! - a.stats.total_net_output_bytes!,
    byCommand,
  };
}
