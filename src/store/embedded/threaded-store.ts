/**
 * The embedded store as the gateway runs it: EmbeddedStore inside a worker thread, so SQLite's
 * commits and fsyncs never block the event loop that serves HTTP. Same durability: a promise
 * resolves only after the worker's commit that holds its write.
 *
 * Calls made within one turn of the event loop travel in one postMessage, and the worker answers a
 * whole group commit in one message: two thread hops per batch, not per call.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Clock } from '../../clock.js';
import type { EndedPage, EndedQuery, RequeueChange } from '../ended.js';
import { storageUnavailable, storeClosed } from '../errors.js';
import { initialRecord } from '../transitions.js';
import type { ControlEntry, Departure, EnqueueOutcome, MessageRecord, NewMessage, QueueCount, QueuePage, QueuePageQuery, Store, Transition } from '../types.js';
import type { OpenResult, ReplyBatch, StoreCall, StoreRequest, WorkerInit } from './protocol.js';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export interface ThreadedStoreOptions {
  /** Told when the worker dies and about each failed respawn; the gateway logs them. */
  onError?: (err: unknown, what: string) => void;
  /** Final records are purged this long after their last change (EmbeddedOptions.finalRetentionMs). */
  finalRetentionMs?: number;
}

/**
 * Delays before respawn attempts after the worker died: the first is immediate-ish, then capped
 * backoff so a database that cannot be opened (disk gone, file locked) is not hammered.
 */
const RESPAWN_DELAYS_MS = [50, 250, 1_000, 5_000] as const;
/**
 * A worker that lived this long died of something new: its successor starts the backoff afresh.
 * One that dies sooner (say, on the same poisoned request, retried) keeps climbing it, so a crash
 * loop costs a respawn every 5 s, not every 50 ms.
 */
const WORKER_STABLE_MS = 30_000;

/**
 * A dead worker is respawned, not answered with process.exit: the process also holds upstream
 * sends in flight and tenant webhook deliveries an exit would cut, and SQLite (WAL, synchronous
 * FULL) loses nothing committed when its thread dies, so a new worker reopening the file is as
 * good as a process restart. Calls pending at the death (and made while no worker runs) fail with
 * STORAGE_UNAVAILABLE, which ingress answers 503 and the dispatcher retries. If the database
 * cannot be reopened the store stays unhealthy, and /healthz fails after a while
 * (src/http/routes/health.ts) so a supervisor restarts the whole process.
 */
export class ThreadedEmbeddedStore implements Store {
  readonly kind = 'embedded';
  private readonly waiters = new Map<number, Waiter>();
  private outgoing: StoreRequest[] = [];
  private scheduled = false;
  private nextId = 1;
  private lastHealthy = true;
  private closed = false;
  /** The live worker; undefined between a death and a successful respawn. */
  private worker: Worker | undefined;
  private respawnTimer: NodeJS.Timeout | undefined;
  private respawnAttempt = 0;
  /** performance.now() at the live worker's start: process time, not the gateway's clock. */
  private attachedAt = 0;
  /** Worker deaths since open. */
  deaths = 0;

  private constructor(
    worker: Worker,
    private readonly path: string,
    private readonly clock: Clock,
    private readonly options: ThreadedStoreOptions,
  ) {
    this.attach(worker);
  }

  /** Starts the worker and resolves once its database is open (or rejects with why not). */
  static async open(path: string, clock: Clock, options: ThreadedStoreOptions = {}): Promise<ThreadedEmbeddedStore> {
    return new ThreadedEmbeddedStore(await startWorker(path, clock, options.finalRetentionMs), path, clock, options);
  }

  /** Fault tests only: ends the worker thread as a crash inside it would. */
  terminateWorkerForTest(): Promise<number> {
    return this.worker?.terminate() ?? Promise.resolve(0);
  }

  healthy(): boolean {
    return !this.closed && this.worker !== undefined && this.lastHealthy;
  }

  enqueue(message: NewMessage): Promise<EnqueueOutcome> {
    return (this.call({ op: 'enqueue', args: [message] }) as Promise<EnqueueOutcome | { kind: 'created' }>).then((outcome) =>
      outcome.kind === 'created' && !('record' in outcome) ? { kind: 'created', record: initialRecord(message) } : (outcome as EnqueueOutcome));
  }

  transition(id: string, change: Transition): Promise<boolean> {
    return this.call({ op: 'transition', args: [id, change] }) as Promise<boolean>;
  }

  get(tenantId: string, id: string): Promise<MessageRecord | null> {
    return this.call({ op: 'get', args: [tenantId, id] }) as Promise<MessageRecord | null>;
  }

  findByWamid(wamid: string): Promise<MessageRecord | null> {
    return this.call({ op: 'findByWamid', args: [wamid] }) as Promise<MessageRecord | null>;
  }

  findByIdempotencyKey(tenantId: string, key: string): Promise<{ record: MessageRecord; bodyHash: string | null } | null> {
    return this.call({ op: 'findByIdempotencyKey', args: [tenantId, key] }) as Promise<{ record: MessageRecord; bodyHash: string | null } | null>;
  }

  controlEntries(): Promise<ControlEntry[]> {
    return this.call({ op: 'controlEntries', args: [] }) as Promise<ControlEntry[]>;
  }

  putControl(key: string, value: unknown): Promise<void> {
    return this.call({ op: 'putControl', args: [key, value] }) as Promise<void>;
  }

  unfinished(): Promise<MessageRecord[]> {
    return this.call({ op: 'unfinished', args: [] }) as Promise<MessageRecord[]>;
  }

  queueCounts(): Promise<QueueCount[]> {
    return this.call({ op: 'queueCounts', args: [] }) as Promise<QueueCount[]>;
  }

  queuePage(query: QueuePageQuery): Promise<QueuePage> {
    return this.call({ op: 'queuePage', args: [query] }) as Promise<QueuePage>;
  }

  departuresSince(sinceMs: number): Promise<Departure[]> {
    return this.call({ op: 'departuresSince', args: [sinceMs] }) as Promise<Departure[]>;
  }

  owedEndings(tenantId: string, beforeMs: number, limit: number): Promise<string[]> {
    return this.call({ op: 'owedEndings', args: [tenantId, beforeMs, limit] }) as Promise<string[]>;
  }

  endingSettled(tenantId: string, id: string): Promise<void> {
    return this.call({ op: 'endingSettled', args: [tenantId, id] }) as Promise<void>;
  }

  listEnded(query: EndedQuery): Promise<EndedPage> {
    return this.call({ op: 'listEnded', args: [query] }) as Promise<EndedPage>;
  }

  requeue(id: string, change: RequeueChange): Promise<MessageRecord | null> {
    return this.call({ op: 'requeue', args: [id, change] }) as Promise<MessageRecord | null>;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    clearTimeout(this.respawnTimer);
    const worker = this.worker;
    const done = worker === undefined ? Promise.resolve() : this.call({ op: 'close', args: [] });
    this.closed = true;
    this.flush();
    await done.catch(() => undefined);
    await worker?.terminate();
  }

  private attach(worker: Worker): void {
    this.worker = worker;
    this.lastHealthy = true;
    this.attachedAt = performance.now();
    worker.on('message', (batch: ReplyBatch) => this.onReplies(batch));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', (code) => this.onExit(worker, code));
  }

  private onExit(worker: Worker, code: number): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    this.failAll(new Error(`store worker exited (code ${code})`));
    if (this.closed) return;
    this.deaths++;
    if (performance.now() - this.attachedAt >= WORKER_STABLE_MS) this.respawnAttempt = 0;
    this.report(new Error(`store worker exited (code ${code}); respawning`), 'store worker');
    this.scheduleRespawn();
  }

  private scheduleRespawn(): void {
    const delayMs = RESPAWN_DELAYS_MS[Math.min(this.respawnAttempt, RESPAWN_DELAYS_MS.length - 1)]!;
    this.respawnAttempt++;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      startWorker(this.path, this.clock, this.options.finalRetentionMs).then(
        (worker) => {
          if (this.closed) return void worker.terminate();
          this.attach(worker);
        },
        (err: unknown) => {
          if (this.closed) return;
          this.report(err, 'store worker respawn');
          this.scheduleRespawn();
        },
      );
    }, delayMs);
    this.respawnTimer.unref();
  }

  private report(err: unknown, what: string): void {
    try {
      this.options.onError?.(err, what);
    } catch {
      // A failing logger must not take the store down with it.
    }
  }

  private call(call: StoreCall): Promise<unknown> {
    if (this.closed) return Promise.reject(storeClosed());
    if (this.worker === undefined) return Promise.reject(storageUnavailable(new Error('store worker not running')));
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiters.set(id, { resolve, reject });
      this.outgoing.push({ ...call, id, nowMs: this.clock.nowMs() } as StoreRequest);
      if (!this.scheduled) {
        this.scheduled = true;
        // Flushed after the current turn's microtasks, so a whole burst of requests goes as one.
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.outgoing.length === 0) return;
    const batch = this.outgoing;
    this.outgoing = [];
    try {
      if (this.worker === undefined) throw new Error('store worker not running');
      this.worker.postMessage(batch);
    } catch (err) {
      // A value that cannot be cloned, or a worker that just died: these calls fail, nothing throws out of the timer.
      for (const request of batch) this.settle(request.id, storageUnavailable(err));
    }
  }

  private settle(id: number, failure: unknown): void {
    const waiter = this.waiters.get(id);
    if (waiter === undefined) return;
    this.waiters.delete(id);
    waiter.reject(failure);
  }

  private onReplies(batch: ReplyBatch): void {
    this.lastHealthy = batch.healthy;
    for (const problem of batch.problems ?? []) this.report(new Error(problem.error), problem.what);
    for (const r of batch.replies) {
      const waiter = this.waiters.get(r.id);
      if (waiter === undefined) continue;
      this.waiters.delete(r.id);
      if (r.ok) waiter.resolve(r.value);
      else waiter.reject(storageUnavailable(new Error(r.error)));
    }
  }

  private failAll(err: unknown): void {
    this.lastHealthy = false;
    this.outgoing = [];
    for (const waiter of this.waiters.values()) waiter.reject(storageUnavailable(err));
    this.waiters.clear();
  }
}

/** Starts a worker on `path`; resolves once its database is open, rejects (worker gone) if it cannot be. */
async function startWorker(path: string, clock: Clock, finalRetentionMs: number | undefined): Promise<Worker> {
  const init: WorkerInit = { path, nowMs: clock.nowMs(), ...(finalRetentionMs === undefined ? {} : { finalRetentionMs }) };
  const worker = new Worker(workerScript(), { workerData: init });
  const result = await new Promise<OpenResult>((ok, fail) => {
    worker.once('message', ok);
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`store worker exited at open (code ${code})`)));
  }).catch(async (err: unknown) => {
    await worker.terminate();
    throw err;
  });
  if (!result.opened) {
    await worker.terminate();
    throw new Error(result.error);
  }
  return worker;
}

/**
 * The compiled worker script. From dist/ it sits next to this file; when this module runs from
 * TypeScript sources (tests), the built copy under dist/ is used (`npm run build` first).
 */
function workerScript(): URL {
  const here = dirname(fileURLToPath(import.meta.url));
  const sibling = join(here, 'store-worker.js');
  if (existsSync(sibling)) return new URL(`file://${sibling}`);
  const built = resolve(here, '../../../dist/src/store/embedded/store-worker.js');
  if (existsSync(built)) return new URL(`file://${built}`);
  throw new Error(`store worker script not found next to ${here} nor at ${built}: run npm run build`);
}
