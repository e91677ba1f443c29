/**
 * Real redis-server processes for tests: one server on a free port (AOF with fsync on every write,
 * no RDB snapshots, its own temp dir), which a test can kill -9 and restart on the same dir and
 * port; or a 3-master Redis Cluster on free ports, created with `redis-cli --cluster create`.
 * Never a mock: the store's tests run against what production runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export const DURABLE_ARGS = ['--appendonly', 'yes', '--appendfsync', 'always', '--save', ''] as const;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a PING on the port answers PONG (a loading server answers -LOADING, not PONG). */
async function waitForPong(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pong = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.setTimeout(500);
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
      socket.connect(port, '127.0.0.1', () => socket.write('PING\r\n'));
    });
    if (pong) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGKILL: no shutdown, no final fsync; what the AOF holds is what survives. */
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its connections but answers nothing while paused. */
  pause(): void;
  resume(): void;
  /** Starts again on the same port and dir (reloading the AOF); resolves once it answers. */
  restart(): Promise<void>;
  /** Stops the server and removes its dir. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Arguments after the port and dir; default: DURABLE_ARGS. */
  args?: readonly string[];
  port?: number;
  dir?: string;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startRedis(options: StartOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sendgate-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...(options.args ?? DURABLE_ARGS)];
  let child: ChildProcess;
  const launch = async () => {
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    child = started;
    // A missing binary or a server that exits at once (port taken, bad argument) fails the test
    // now, with the reason, instead of after the PING timeout.
    const failed = new Promise<never>((_resolve, reject) => {
      started.once('error', (error) => reject(new Error(`cannot start redis-server (install it; .ci/run does): ${error.message}`)));
      started.once('exit', (code, signal) => reject(new Error(`redis-server on port ${port} exited at start (${signal ?? code})`)));
    });
    failed.catch(() => undefined);
    await Promise.race([waitForPong(port, 10_000), failed]);
  };
  await launch();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    async kill9() {
      child.kill('SIGKILL');
      await exited(child);
    },
    pause: () => child.kill('SIGSTOP'),
    resume: () => child.kill('SIGCONT'),
    restart: launch,
    async stop() {
      child.kill('SIGKILL');
      await exited(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RedisCluster {
  readonly nodes: Array<{ host: string; port: number }>;
  /** The masters' processes (kill9/restart one: it comes back with its slots, nodes.conf and AOF). */
  readonly servers: readonly RedisServer[];
  /** `redis+cluster://…` as storage.url takes it. */
  readonly url: string;
  stop(): Promise<void>;
}

/** Three masters, no replicas, every slot assigned; resolves once the cluster reports ok. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const dir = mkdtempSync(join(tmpdir(), 'sendgate-redis-cluster-'));
      servers.push(await startRedis({ dir, args: [...DURABLE_ARGS, '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')] }));
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const deadline = Date.now() + 20_000;
    for (const server of servers) {
      for (;;) {
        const info = spawnSync('redis-cli', ['-p', String(server.port), 'cluster', 'info'], { encoding: 'utf8' });
        if (info.stdout.includes('cluster_state:ok')) break;
        if (Date.now() > deadline) throw new Error(`cluster node ${server.port} not ok: ${info.stdout}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.stop()));
    throw error;
  }
  const nodes = servers.map((s) => ({ host: '127.0.0.1', port: s.port }));
  return {
    nodes,
    servers,
    url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

/** A redis-server and a 3-master Cluster for a file's tests: started before them, stopped after (read them inside tests). */
export function serverAndCluster(): { readonly server: RedisServer; readonly cluster: RedisCluster } {
  const both = {} as { server: RedisServer; cluster: RedisCluster };
  beforeAll(async () => {
    [both.server, both.cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  });
  afterAll(async () => {
    await Promise.all([both.server?.stop(), both.cluster?.stop()]);
  });
  return both;
}
