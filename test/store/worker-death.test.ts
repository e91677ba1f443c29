/**
 * The store's worker thread dies inside a running gateway process: the death is logged, pending
 * and new writes answer 503 (Graph envelope), /readyz fails at once and /healthz once the store has
 * been unhealthy for STORE_UNHEALTHY_LIVENESS_MS; a new worker reopens the database as soon as it
 * can, and the gateway accepts again with everything committed before still there.
 *
 * To hold the outage open for as long as the test needs (no race with the respawn), the data
 * directory is moved away and a plain file put in its place before the kill: the respawn cannot
 * open the database until the directory is moved back. The open worker keeps its file handles.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { STORE_UNHEALTHY_LIVENESS_MS } from '../../src/http/routes/health.js';
import { startSimulator, type Simulator } from '../../src/sim/index.js';
import { transpileChild } from '../support/transpile-child.js';

const work = mkdtempSync(join(tmpdir(), 'sendgate-worker-death-'));
const dataDir = join(work, 'data');
let child: ChildProcess | undefined;
let sim: Simulator | undefined;
afterAll(async () => {
  child?.kill('SIGKILL');
  await sim?.close();
  rmSync(work, { recursive: true, force: true });
});

function next<T>(proc: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: Record<string, unknown>) => {
      if (!(key in msg)) return;
      proc.off('message', onMessage);
      resolve(msg[key] as T);
    };
    proc.on('message', onMessage);
    proc.once('exit', (code) => reject(new Error(`child exited (${code})`)));
  });
}

async function get(url: string): Promise<{ status: number; json: any }> {
  const res = await request(url);
  return { status: res.statusCode, json: await res.body.json() };
}

async function send(base: string, to: string): Promise<{ status: number; json: any }> {
  const res = await request(`${base}/v23.0/1001/messages`, {
    method: 'POST',
    headers: { authorization: 'Bearer key-worker-death-1', 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', to, type: 'text', text: { body: 'hello' } }),
  });
  return { status: res.statusCode, json: await res.body.json() };
}

describe('store worker death', () => {
  it('is logged, answered 503, fails /healthz after the liveness window, and recovers with a respawned worker', async () => {
    sim = await startSimulator({ numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-1001' }] });
    const childJs = transpileChild('test/store/worker-death-child.ts', join(work, 'build'), ['src/store/embedded/store-worker.ts']);
    child = fork(childJs, [dataDir, sim.url], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString(); });
    const base = await next<string>(child, 'url');

    const before = await send(base, '+15550001');
    expect(before.status).toBe(202);

    renameSync(dataDir, `${dataDir}-away`);
    writeFileSync(dataDir, 'not a directory');
    child.send({ cmd: 'kill-worker' });
    await next(child, 'killed');

    const refused = await send(base, '+15550002');
    expect(refused.status).toBe(503);
    expect(refused.json.error).toMatchObject({ type: 'SendgateException' });
    expect(JSON.stringify(refused.json)).not.toMatch(/at .*\.js|not a directory|EEXIST|ENOTDIR/);
    expect((await get(`${base}/readyz`)).status).toBe(503);
    expect((await get(`${base}/healthz`)).status).toBe(200); // a short outage never restarts the process

    child.send({ cmd: 'advance', ms: STORE_UNHEALTHY_LIVENESS_MS + 1000 });
    await next(child, 'advanced');
    const failing = await get(`${base}/healthz`);
    expect(failing.status).toBe(503);
    expect(failing.json.checks).toEqual({ storage: false });

    rmSync(dataDir);
    renameSync(`${dataDir}-away`, dataDir);
    let again = await send(base, '+15550003');
    while (again.status === 503) {
      await new Promise((r) => setTimeout(r, 100));
      again = await send(base, '+15550003');
    }
    expect(again.status).toBe(202);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/readyz`)).status).toBe(200);
    const status = await request(`${base}/v1/messages/${before.json.messages[0].id}`, { headers: { authorization: 'Bearer key-worker-death-1' } });
    expect(status.statusCode).toBe(200);
    await status.body.dump();

    expect(output).toMatch(/store worker exited/);
    expect(child.exitCode).toBeNull();
    child.send({ cmd: 'stop' });
    expect(await new Promise((r) => child!.once('exit', r))).toBe(0);
  }, 60_000);
});
