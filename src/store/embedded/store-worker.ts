/**
 * The worker thread that owns the embedded store's SQLite connection. Commits (and their fsync,
 * several ms on a busy disk) block only this thread, never the gateway's event loop: measured,
 * keeping the fsync on the main thread halved ingress throughput.
 *
 * The gateway's clock reading travels with every request; the store reads it through a clock
 * that returns the latest one, so idempotency ages follow the gateway's (possibly manual) clock.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Clock } from '../../clock.js';
import { EmbeddedStore } from './embedded-store.js';
import type { OpenResult, ReplyBatch, StoreReply, StoreRequest, WorkerInit } from './protocol.js';

if (parentPort === null) throw new Error('store-worker must run in a worker thread');
const port = parentPort;
const init = workerData as WorkerInit;
let latestMs = init.nowMs;
const clock: Clock = { nowMs: () => latestMs };

let replies: StoreReply[] = [];
let problems: NonNullable<ReplyBatch['problems']> = [];
let flushing = false;

let store: EmbeddedStore;
try {
  store = new EmbeddedStore({
    path: init.path, clock,
    ...(init.finalRetentionMs === undefined ? {} : { finalRetentionMs: init.finalRetentionMs }),
    // Background failures go to the gateway's log with the next batch (message only, no stack).
    onError: (err, what) => {
      if (problems.length < 100) problems.push({ what, error: err instanceof Error ? err.message : String(err) });
      scheduleFlush();
    },
  });
  port.postMessage({ opened: true } satisfies OpenResult);
} catch (err) {
  port.postMessage({ opened: false, error: err instanceof Error ? err.message : String(err) } satisfies OpenResult);
  process.exit(0);
}

function reply(r: StoreReply): void {
  replies.push(r);
  scheduleFlush();
}

function scheduleFlush(): void {
  if (flushing) return;
  flushing = true;
  setImmediate(() => {
    flushing = false;
    const batch: ReplyBatch = { replies, healthy: store.healthy() };
    if (problems.length > 0) batch.problems = problems;
    replies = [];
    problems = [];
    try {
      port.postMessage(batch);
    } catch {
      // A value that cannot be cloned fails its own call instead of killing this thread.
      for (const r of batch.replies) {
        try {
          port.postMessage({ replies: [r], healthy: batch.healthy } satisfies ReplyBatch);
        } catch (err) {
          port.postMessage({ replies: [{ id: r.id, ok: false, error: err instanceof Error ? err.message : String(err) }], healthy: batch.healthy } satisfies ReplyBatch);
        }
      }
    }
  });
}

function run(request: StoreRequest): Promise<unknown> {
  switch (request.op) {
    // A created record is exactly initialRecord(message), which the caller rebuilds: only the
    // outcome crosses back (structured cloning the record was ~2 % of ingress CPU).
    case 'enqueue': return store.enqueue(...request.args).then((o) => (o.kind === 'created' ? { kind: 'created' } : o));
    case 'transition': return store.transition(...request.args);
    case 'get': return store.get(...request.args);
    case 'findByWamid': return store.findByWamid(...request.args);
    case 'findByIdempotencyKey': return store.findByIdempotencyKey(...request.args);
    case 'unfinished': return store.unfinished();
    case 'queueCounts': return store.queueCounts();
    case 'queuePage': return store.queuePage(...request.args);
    case 'departuresSince': return store.departuresSince(...request.args);
    case 'owedEndings': return store.owedEndings(...request.args);
    case 'endingSettled': return store.endingSettled(...request.args);
    case 'controlEntries': return store.controlEntries();
    case 'putControl': return store.putControl(...request.args);
    case 'listEnded': return store.listEnded(...request.args);
    case 'requeue': return store.requeue(...request.args);
    case 'close': return store.close();
  }
}

port.on('message', (requests: StoreRequest[]) => {
  for (const request of requests) {
    if (request.nowMs > latestMs) latestMs = request.nowMs;
    run(request).then(
      (value) => reply({ id: request.id, ok: true, value }),
      (err: unknown) => reply({ id: request.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  }
});
