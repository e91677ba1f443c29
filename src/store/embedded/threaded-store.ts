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
import { storageUnavailable, storeClosed } from '../errors.js';
import { initialRecord } from '../transitions.js';
import type { ControlEntry, EnqueueOutcome, MessageRecord, NewMessage, QueueCount, QueuePage, QueuePageQuery, Store, Transition } from '../types.js';
import type { OpenResult, ReplyBatch, StoreCall, StoreRequest, WorkerInit } from './protocol.js';

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

export class ThreadedEmbeddedStore implements Store {
  readonly kind = 'embedded';
  private readonly waiters = new Map<number, Waiter>();
  private outgoing: StoreRequest[] = [];
  private scheduled = false;
  private nextId = 1;
  private lastHealthy = true;
  private closed = false;
  private exited = false;

  private constructor(private readonly worker: Worker, private readonly clock: Clock) {
    worker.on('message', (batch: ReplyBatch) => this.onReplies(batch));
    worker.on('error', (err) => this.failAll(err));
    worker.on('exit', () => {
      this.exited = true;
      this.failAll(new Error('store worker exited'));
    });
  }

  /** Starts the worker and resolves once its database is open (or rejects with why not). */
  static async open(path: string, clock: Clock): Promise<ThreadedEmbeddedStore> {
    const worker = new Worker(workerScript(), { workerData: { path, nowMs: clock.nowMs() } satisfies WorkerInit });
    const result = await new Promise<OpenResult>((ok, fail) => {
      worker.once('message', ok);
      worker.once('error', fail);
    });
    if (!result.opened) {
      await worker.terminate();
      throw new Error(result.error);
    }
    return new ThreadedEmbeddedStore(worker, clock);
  }

  healthy(): boolean {
    return !this.closed && !this.exited && this.lastHealthy;
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

  async close(): Promise<void> {
    if (this.closed) return;
    const done = this.call({ op: 'close', args: [] });
    this.closed = true;
    this.flush();
    await done.catch(() => undefined);
    await this.worker.terminate();
  }

  private call(call: StoreCall): Promise<unknown> {
    if (this.closed || this.exited) return Promise.reject(storeClosed());
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
    this.worker.postMessage(batch);
  }

  private onReplies(batch: ReplyBatch): void {
    this.lastHealthy = batch.healthy;
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
    for (const waiter of this.waiters.values()) waiter.reject(storageUnavailable(err));
    this.waiters.clear();
  }
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
