/**
 * Broadcasts at scale, against a gateway started from the built CLI (its own process):
 * - plan: a dry run over N recipients, wall time and the gateway's CPU time (from /proc);
 * - admission: the create request that stores the broadcast and its N recipients durably (201),
 *   recipients per second, against single sends posted one request each (the baseline, same run);
 * - memory: the gateway's RSS once a 10^6-recipient broadcast is stored and running, against its
 *   RSS before any broadcast.
 * Lists up to 10^5 go as JSON in the request; larger ones as an NDJSON upload (the JSON body limit is
 * 16 MiB), whose streaming time is shown apart. The number sends at 1 msg/s to an upstream that
 * refuses connections, so the broadcast stays queued while memory is read.
 * With `--storage redis` the gateway runs on a redis-server of its own (a fleet of one), and Redis's
 * memory per stored recipient is shown too.
 *
 *   node dist/bench/macro/broadcast.js [--sizes 10000,100000,1000000] [--singles 2000] [--settle-ms 3000] [--storage embedded|redis]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Pool, request } from 'undici';
import { formatTable } from '../support/child.js';
import { CLI, cpuMs, freePort, machineLine, spawnServer, tempJson } from './processes.js';
import { infoNumbers, startBenchRedis, type BenchRedis } from './redis-server.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000,100000,1000000' },
    singles: { type: 'string', default: '2000' },
    'settle-ms': { type: 'string', default: '3000' },
    storage: { type: 'string', default: 'embedded' },
  },
});
if (values.storage !== 'embedded' && values.storage !== 'redis') throw new Error('--storage is embedded or redis');
const sizes = values.sizes.split(',').map(Number);
const SINGLES = Number(values.singles);
const settleMs = Number(values['settle-ms']);
const KEY = 'bench-broadcast-key';
const NUMBER = '7001';
const JSON_MAX = 100_000;
const MIB = 1024 * 1024;
const message = { messaging_product: 'whatsapp', type: 'template', template: { name: 'all_hands', language: { code: 'en' } } };
const auth = { authorization: `Bearer ${KEY}` };

const phone = (i: number): string => `+1${String(2_000_000_000 + i)}`;

function rssMiB(pid: number | undefined): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return (kb * 1024) / MIB;
}

async function post(url: string, path: string, body: string | Readable, type = 'application/json'): Promise<any> {
  const res = await request(`${url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': type }, body, bodyTimeout: 0, headersTimeout: 0 });
  const json = (await res.body.json()) as any;
  if (res.statusCode >= 300) throw new Error(`${path}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json;
}

/** N recipients as NDJSON, generated while streaming. */
function ndjson(from: number, n: number): Readable {
  return Readable.from((function* () {
    const chunk = 10_000;
    for (let i = 0; i < n; i += chunk) {
      let text = '';
      for (let j = i; j < Math.min(n, i + chunk); j++) text += `{"to":"${phone(from + j)}"}\n`;
      yield text;
    }
  })());
}

interface Timed<T> { value: T; wallMs: number; cpuMs: number }

async function timed<T>(pid: number | undefined, work: () => Promise<T>): Promise<Timed<T>> {
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const value = await work();
  const wallMs = performance.now() - t0;
  // /proc counts in 10 ms ticks: let the last one land.
  await new Promise((r) => setTimeout(r, 20));
  return { value, wallMs, cpuMs: cpuMs(pid) - cpu0 };
}

async function singleSendRate(url: string): Promise<number> {
  const pool = new Pool(url, { connections: 32 });
  const t0 = performance.now();
  await Promise.all(Array.from({ length: SINGLES }, async (_, i) => {
    const res = await pool.request({
      path: `/v23.0/${NUMBER}/messages`, method: 'POST', headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...message, to: phone(90_000_000 + i) }),
    });
    await res.body.dump();
    if (res.statusCode !== 202) throw new Error(`single send: ${res.statusCode}`);
  }));
  const perSec = SINGLES / ((performance.now() - t0) / 1000);
  await pool.close();
  return perSec;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-bench-broadcast-'));
  const port = await freePort();
  const deadPort = await freePort();
  const redis: BenchRedis | null = values.storage === 'redis' ? await startBenchRedis() : null;
  const config = tempJson('gateway.json', {
    listen: { host: '127.0.0.1', port },
    storage: redis === null ? { kind: 'embedded', path: dir } : { kind: 'redis', url: redis.url, prefix: 'bench' },
    upstream: { baseUrl: `http://127.0.0.1:${deadPort}`, http2: false, timeoutMs: 1000 },
    log: { level: 'fatal' },
    limits: { maxQueuedPerNumber: 10_000_000 },
    tenants: [{
      id: 'bench', apiKeys: [KEY], messagingLimit: 'unlimited', policy: { optIn: 'off', serviceWindow: 'off' },
      numbers: [{ phoneNumberId: NUMBER, accessToken: 'token', mps: 1, burst: 1 }],
    }],
  });
  const gateway = await spawnServer([CLI, 'serve', '--config', config], `http://127.0.0.1:${port}`, '/readyz');
  const pid = gateway.process.pid;
  const rows: string[][] = [];
  let rssBefore = 0;
  let rssQueued = 0;
  try {
    const singles = await singleSendRate(gateway.url);
    console.log(`  baseline: ${SINGLES} single sends at ${singles.toFixed(0)}/s`);
    await new Promise((r) => setTimeout(r, settleMs));
    rssBefore = rssMiB(pid);
    let offset = 0;
    const redisBytes = async (): Promise<number> => (redis === null ? 0 : (await infoNumbers(redis.client, 'memory')).used_memory ?? 0);
    for (const n of sizes) {
      const redisBefore = await redisBytes();
      let upload: Timed<{ id: string }> | null = null;
      let source: () => string;
      if (n <= JSON_MAX) {
        const recipients = Array.from({ length: n }, (_, i) => ({ to: phone(offset + i) }));
        source = () => JSON.stringify({ phone_number_id: NUMBER, message, category: 'marketing', recipients });
      } else {
        upload = await timed(pid, () => post(gateway.url, '/v1/broadcasts/uploads', ndjson(offset, n), 'application/x-ndjson'));
        const id = upload.value.id;
        source = () => JSON.stringify({ phone_number_id: NUMBER, message, category: 'marketing', recipients_upload: id });
      }
      const dry = await timed(pid, () => post(gateway.url, '/v1/broadcasts', source().replace(/}$/, ',"dry_run":true}')));
      if (dry.value.plan.sendable_now !== n) throw new Error(`plan of ${n}: ${JSON.stringify(dry.value.plan)}`);
      const create = await timed(pid, () => post(gateway.url, '/v1/broadcasts', source()));
      offset += n;
      const perSec = n / (create.wallMs / 1000);
      rows.push([
        n.toLocaleString('en-US'), n <= JSON_MAX ? 'JSON' : 'NDJSON',
        upload === null ? '' : `${(upload.wallMs / 1000).toFixed(2)}`,
        (dry.wallMs / 1000).toFixed(2), (dry.cpuMs / 1000).toFixed(2), ((dry.cpuMs / n) * 100).toFixed(2),
        (create.wallMs / 1000).toFixed(2), (create.cpuMs / 1000).toFixed(2), perSec.toFixed(0), (n / (create.cpuMs / 1000)).toFixed(0), (perSec / singles).toFixed(1),
      ]);
      console.log(`  ${n}: plan ${dry.wallMs.toFixed(0)} ms (gateway CPU ${dry.cpuMs.toFixed(0)} ms), stored in ${create.wallMs.toFixed(0)} ms`
        + (redis === null ? '' : `; Redis memory ${(((await redisBytes()) - redisBefore) / n).toFixed(0)} B per recipient (and its upload, if any)`));
      if (n === Math.max(...sizes)) {
        await new Promise((r) => setTimeout(r, settleMs));
        rssQueued = rssMiB(pid);
      }
    }
    console.log(`\nbroadcast (${values.storage} storage): one number at 1 msg/s (the broadcasts stay queued); baseline ${SINGLES} single sends at ${singles.toFixed(0)}/s; ${machineLine()}`);
    console.log(formatTable(
      ['recipients', 'list as', 'upload s', 'plan s', 'plan gateway CPU s', 'CPU s per 10^5', 'create s', 'create gateway CPU s', 'admitted /s', 'admitted per CPU s', 'x single sends'],
      rows,
    ));
    console.log(`gateway RSS: ${rssBefore.toFixed(0)} MiB before any broadcast, ${rssQueued.toFixed(0)} MiB with ${sizes.reduce((a, b) => a + b, 0).toLocaleString('en-US')} recipients stored (largest broadcast ${Math.max(...sizes).toLocaleString('en-US')}) and running`);
    console.log('targets: plan of 10^5 under 1 s of gateway time; admission at least 20,000 recipients/s (one request).');
    console.log('create = plan again + store (recipients committed in chunks of 20,000, the event loop served between them); x single sends = admitted /s over the baseline.');
  } finally {
    await gateway.stop();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
