/**
 * Child processes for macro benchmarks: every server under test runs in its own process (the
 * load generator stays in the parent), started from the built CLI exactly as a user would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request, type Dispatcher } from 'undici';
import { formatMachine } from '../support/machine.js';

/** The project root: the nearest folder above this file with a package.json (works from bench/ and dist/bench/). */
function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

/** The built CLI (`npm run build` first). Tests use it too: crash tests need a real process. */
export const CLI = resolve(projectRoot(), 'dist/src/cli.js');

/** The machine line every benchmark prints (one definition: bench/support/machine.ts). */
export const machineLine = (): string => formatMachine();

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? ok(address.port) : fail(new Error('no port'))));
    });
  });
}

export function tempJson(name: string, value: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-bench-'));
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

export interface Child {
  process: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/**
 * Spawns `node args…` and waits until GET url+readyPath answers below 500 (or the child dies).
 * `agent`: an undici dispatcher for the readiness check (e.g. one that trusts a test certificate).
 */
export async function spawnServer(args: string[], url: string, readyPath: string, env: Record<string, string> = {}, agent?: Dispatcher): Promise<Child> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode}): ${stderr}`);
    try {
      const res = await request(url + readyPath, agent === undefined ? {} : { dispatcher: agent });
      await res.body.dump();
      if (res.statusCode < 500) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`child not ready in 20 s: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    process: child,
    url,
    stop: () => new Promise<void>((ok) => {
      if (child.exitCode !== null) return ok();
      child.once('exit', () => ok());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }),
  };
}

/**
 * CPU time a child process spent (user + system, ms) from /proc; NaN where there is none.
 * On 2 cores shared with other work, CPU per request is steadier than req/s: a neighbour's burst
 * lowers req/s of whichever run it lands on but not the gateway's own cost per request.
 */
export function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command name), in clock ticks (100 Hz).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}
