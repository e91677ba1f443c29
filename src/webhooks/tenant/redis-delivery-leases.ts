/**
 * The delivery gate of a fleet on one Redis: one lease per tenant outbox (RedisLeases: `SET NX PX`
 * with the owner's process id and a fencing counter, keys in the tenant's slot). The holder renews
 * it every TTL/3 and gives the tenant up as soon as a renewal fails (refused or unanswered), so it
 * stops before the lease can lapse; another process takes the tenant within about TTL + `acquireEveryMs`
 * of the holder's last renewal (at once after a graceful close, which releases).
 *
 * Who tries: a process that appended for a tenant (`want`), and every process for the tenants
 * its periodic `summary()` finds with pending events (what a process that died had appended).
 * The holder polls each held tenant's outbox counter every `pollMs`: when it moved, another
 * process appended (or replayed) and the lane reads the outbox again.
 */
import { performance } from 'node:perf_hooks';
import type { RedisKeys } from '../../store/redis/keys.js';
import type { RedisLeases } from '../../store/redis/leases.js';
import type { RedisOutbox } from '../outbox/redis.js';
import type { DeliveryGate, GateListener } from './delivery-gate.js';

export interface RedisDeliveryLeasesOptions {
  leases: RedisLeases;
  keys: RedisKeys;
  outbox: RedisOutbox;
  /** Unique per process (and per start): the lease's owner. */
  ownerId: string;
  /** Lease TTL (default 10 s). */
  ttlMs?: number;
  /** How often a held tenant's counter is compared with what was seen (default 250 ms). */
  pollMs?: number;
  /** How often a wanted tenant held by another process is tried again (default min(TTL/3, 1 s)). */
  acquireEveryMs?: number;
  /** How often the outbox is searched for tenants nobody delivers (default 5 s). */
  discoverEveryMs?: number;
  onError?: (err: unknown, what: string) => void;
}

interface Held {
  token: number;
  /** When the last acquire or renewal that succeeded was sent (monotonic ms): the lease runs TTL from there at least. */
  sentAtMs: number;
  /** The tenant's outbox counter as last seen. */
  lastSeq: number;
}

export class RedisDeliveryLeases implements DeliveryGate {
  private readonly held = new Map<string, Held>();
  /** Tenants with pending events that another process delivers (or did until it stopped). */
  private readonly wanted = new Set<string>();
  /** Acquisitions in flight, so a burst of appends tries once. */
  private readonly trying = new Set<string>();
  private readonly timers: NodeJS.Timeout[] = [];
  private listener: GateListener | undefined;
  private readonly ttlMs: number;
  private readonly onError: (err: unknown, what: string) => void;
  private closed = false;
  private polling = false;
  /** Kinds of background work failing now: each is reported once per outage, not at every tick. */
  private readonly failing = new Set<string>();

  constructor(private readonly options: RedisDeliveryLeasesOptions) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.onError = options.onError ?? (() => {});
  }

  async start(listener: GateListener): Promise<void> {
    this.listener = listener;
    const every = (ms: number, task: () => Promise<void>) => {
      const timer = setInterval(() => void task(), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(Math.max(1, Math.floor(this.ttlMs / 3)), () => this.renewAll());
    every(this.options.pollMs ?? 250, () => this.poll());
    every(this.options.acquireEveryMs ?? Math.min(Math.floor(this.ttlMs / 3), 1000), () => this.retryWanted());
    every(this.options.discoverEveryMs ?? 5000, () => this.discover());
    await this.discover();
  }

  want(tenantId: string): void {
    if (this.closed || this.held.has(tenantId)) return;
    this.wanted.add(tenantId);
    void this.tryAcquire(tenantId);
  }

  holds(tenantId: string): boolean {
    const held = this.held.get(tenantId);
    if (held === undefined) return false;
    if (this.fresh(held)) return true;
    this.lose(tenantId);
    return false;
  }

  /** The lease runs at least TTL from when its last successful renewal was sent; two thirds of that is kept as margin. */
  private fresh(held: Held): boolean {
    return performance.now() - held.sentAtMs < (this.ttlMs * 2) / 3;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) clearInterval(timer);
    const { leases, keys, ownerId } = this.options;
    const releasing = [...this.held].map(([tenantId, { token }]) => leases.release(keys.outboxLease(tenantId), ownerId, token));
    this.held.clear();
    for (const result of await Promise.allSettled(releasing)) {
      if (result.status === 'rejected') this.onError(result.reason, 'webhook delivery lease release');
    }
  }

  private async tryAcquire(tenantId: string): Promise<void> {
    if (this.trying.has(tenantId)) return;
    this.trying.add(tenantId);
    const { leases, keys, ownerId, outbox } = this.options;
    try {
      // The counter first: appends committed after this read are noticed by the next poll.
      const lastSeq = await outbox.lastSeq(tenantId);
      const sentAtMs = performance.now();
      const token = await leases.acquire(keys.outboxLease(tenantId), keys.outboxFence(tenantId), ownerId, this.ttlMs);
      this.recovered('webhook delivery lease acquire');
      if (token === null || this.held.has(tenantId)) return;
      const pending = await outbox.pendingCount(tenantId);
      // Closed meanwhile: the next holder need not wait for the TTL.
      if (this.closed) return await leases.release(keys.outboxLease(tenantId), ownerId, token);
      this.wanted.delete(tenantId);
      this.held.set(tenantId, { token, sentAtMs, lastSeq });
      this.listener?.gained(tenantId, pending);
    } catch (err) {
      this.failed(err, 'webhook delivery lease acquire');
    } finally {
      this.trying.delete(tenantId);
    }
  }

  private async renewAll(): Promise<void> {
    const { leases, keys, ownerId } = this.options;
    await Promise.all([...this.held].map(async ([tenantId, held]) => {
      // A renewal still unanswered for two thirds of the TTL: stop before the lease can lapse.
      if (!this.fresh(held)) {
        this.lose(tenantId);
        return;
      }
      const sentAtMs = performance.now();
      let renewed = false;
      try {
        renewed = await leases.renew(keys.outboxLease(tenantId), ownerId, held.token, this.ttlMs);
        this.recovered('webhook delivery lease renew');
      } catch (err) {
        this.failed(err, 'webhook delivery lease renew');
      }
      if (this.held.get(tenantId) !== held) return;
      // Refused or failed: stop now, while the lease (if still ours) has most of its TTL to run.
      if (renewed) held.sentAtMs = sentAtMs;
      else this.lose(tenantId);
    }));
  }

  private lose(tenantId: string): void {
    this.held.delete(tenantId);
    // Still has events: try again later (someone else may take it first).
    this.wanted.add(tenantId);
    this.listener?.lost(tenantId);
  }

  private async poll(): Promise<void> {
    if (this.polling || this.held.size === 0) return;
    this.polling = true;
    try {
      const tenants = [...this.held.keys()];
      const seqs = await Promise.all(tenants.map((tenantId) => this.options.outbox.lastSeq(tenantId)));
      tenants.forEach((tenantId, i) => {
        const held = this.held.get(tenantId);
        if (held === undefined || seqs[i] === held.lastSeq) return;
        held.lastSeq = seqs[i]!;
        this.listener?.appended(tenantId);
      });
      this.recovered('webhook outbox poll');
    } catch (err) {
      this.failed(err, 'webhook outbox poll');
    } finally {
      this.polling = false;
    }
  }

  private async retryWanted(): Promise<void> {
    await Promise.all([...this.wanted].map((tenantId) => this.tryAcquire(tenantId)));
  }

  private async discover(): Promise<void> {
    if (this.closed) return;
    try {
      const { tenants } = await this.options.outbox.summary();
      const pending = new Set(tenants);
      // Forget tenants whose events are all delivered (by their holder); keep trying the others.
      for (const tenantId of this.wanted) if (!pending.has(tenantId)) this.wanted.delete(tenantId);
      for (const tenantId of tenants) this.want(tenantId);
      this.recovered('webhook outbox discovery');
    } catch (err) {
      this.failed(err, 'webhook outbox discovery');
    }
  }

  private failed(err: unknown, what: string): void {
    if (this.failing.has(what)) return;
    this.failing.add(what);
    this.onError(err, what);
  }

  private recovered(what: string): void {
    this.failing.delete(what);
  }
}
