/**
 * Webhooks micro/meso benchmarks: `npx vitest bench --run test/webhooks/webhooks.bench.ts`
 *
 * - Meta in: signature check, parse, and a whole POST (verify + parse + dedupe against memory and
 *   the durable marks) of a 100-status batch, as Meta's ASCII-escaped JSON, through Fastify's
 *   inject (no socket).
 * - Tenant out: `enqueue` of 100 events awaited together (one group commit, synchronous=FULL), with
 *   the endpoint's breaker open so no delivery runs; and 500 events enqueued and delivered end to
 *   end to a Fastify receiver on 127.0.0.1 (wall time until the last 2xx).
 * Prints the machine first: numbers from a shared 2-core box are only comparable on that box.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import { afterAll, bench, describe } from 'vitest';
import { systemClock } from '../../src/clock.js';
import {
  DeliveryDedupe, SqliteSeenMarks, escapeNonAscii, metaWebhookRoutes, openWebhooksDb, parseMetaWebhook, signMetaBody, SqliteOutbox, TenantWebhookSender, verifyMetaSignature,
} from '../../src/webhooks/index.js';
import { statusPayload } from './fixtures.js';
import { Receiver } from './receiver.js';

console.log(`machine: ${cpus()[0]?.model ?? '?'} x${cpus().length}, node ${process.version}`);

const SECRET = 'bench-secret';
let batchNo = 0;
const batch = (): string =>
  escapeNonAscii(JSON.stringify(statusPayload(Array.from({ length: 100 }, (_, i) => ({ id: `wamid.${batchNo}.${i}`, status: 'delivered', recipient: `1555${i}` })))));
const fixed = Buffer.from(batch());
const fixedSig = signMetaBody(fixed, SECRET);

const dir = mkdtempSync(join(tmpdir(), 'sendgate-wh-bench-'));
const db = openWebhooksDb(dir);
// As wired in production: fresh keys are looked up in the durable marks too.
const marks = new SqliteSeenMarks(db);
const app = Fastify();
await app.register(metaWebhookRoutes, { appSecret: SECRET, verifyToken: 'v', onEvents: async () => {}, dedupe: new DeliveryDedupe({ clock: systemClock, marks }) });
await app.ready();
const outbox = new SqliteOutbox(db);
// Port 9 (discard) is closed on 127.0.0.1: the first failures open the breaker for an hour, so the
// enqueue benchmark measures the durable append only.
const parked = new TenantWebhookSender({ outbox, endpoint: () => ({ url: 'http://127.0.0.1:9/', secret: 's' }), breaker: { failureThreshold: 1, coolDownMs: 3_600_000 } });
await parked.start();

const receiver = new Receiver('s');
await receiver.listen();
const live = new TenantWebhookSender({ outbox, endpoint: (t) => (t === 'live' ? { url: receiver.url, secret: 's' } : undefined), concurrencyPerEndpoint: 8 });

const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

afterAll(async () => {
  loopDelay.disable();
  console.log(`event-loop delay during the run: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(2)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(2)} ms, max ${(loopDelay.max / 1e6).toFixed(2)} ms`);
  await live.close();
  await parked.close();
  await receiver.close();
  await app.close();
  marks.close();
  await outbox.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('meta in (100-status batch, ~27 KB)', () => {
  bench('verifyMetaSignature', () => {
    if (!verifyMetaSignature(fixed, fixedSig, SECRET)) throw new Error('bad signature');
  });
  bench('parseMetaWebhook', () => {
    parseMetaWebhook(JSON.parse(fixed.toString('utf8')));
  });
  bench('POST /webhooks/whatsapp (inject; fresh wamids; durable marks)', async () => {
    batchNo++;
    const body = batch();
    const res = await app.inject({ method: 'POST', url: '/webhooks/whatsapp', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(body, SECRET) }, payload: body });
    if (res.statusCode !== 200) throw new Error(String(res.statusCode));
  });
});

describe('tenant out', () => {
  bench('enqueue x100, awaited together (one group commit)', async () => {
    await Promise.all(Array.from({ length: 100 }, (_, i) => parked.enqueue('parked', { type: 'status', recipient: `1555${i % 20}`, wamid: `wamid.${i}`, status: 'delivered' })));
  });
  bench('enqueue + deliver x500 to a local receiver (50 recipients)', async () => {
    const target = live.stats().delivered + 500;
    await Promise.all(Array.from({ length: 500 }, (_, i) => live.enqueue('live', { type: 'status', recipient: `1555${i % 50}`, n: i })));
    while (live.stats().delivered < target) await new Promise((r) => setTimeout(r, 1));
  }, { iterations: 5, time: 0, warmupIterations: 1 });
});
