/**
 * Wires the webhook pieces for distributed storage (`storage.kind: "redis"`): the tenant outbox,
 * the Meta dedupe marks and the parked statuses in Redis (keys: src/store/redis/keys.ts), shared by
 * every process of the fleet; the sender delivers only the tenants whose delivery lease this
 * process holds (tenant/redis-delivery-leases.ts) and appends for the others.
 *
 *   const webhooks = await openRedisWebhooks({ client, keys, durability, endpoint: (id) => registry.tenant(id)?.webhook });
 *   const consumer = new MetaEventConsumer({ records: store, owners: registry, sink: webhooks.sender, unmatched: webhooks.unmatched, clock, hooks });
 *   if (config.webhooks) await app.register(metaWebhookRoutes, webhooks.routeOptions(config.webhooks, consumer.onEvents));
 *   ... on shutdown, after the app closed: await webhooks.close(); then close the client.
 *
 * The client is the caller's (the same connection as the store's may serve): close() leaves it open.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { systemClock, type Clock } from '../clock.js';
import type { RedisClient } from '../store/redis/commands.js';
import type { RedisDurability } from '../store/redis/durability.js';
import type { RedisKeys } from '../store/redis/keys.js';
import { RedisLeases } from '../store/redis/leases.js';
import type { Webhooks } from './embedded.js';
import { DeliveryDedupe } from './meta/dedupe.js';
import { RedisSeenMarks } from './meta/redis-seen-marks.js';
import { RedisUnmatchedStatuses } from './meta/redis-unmatched-statuses.js';
import { createMetaWebhookCounters } from './meta/routes.js';
import { RedisOutbox } from './outbox/redis.js';
import { RedisWrites } from '../store/redis/writes.js';
import type { TenantEndpoint } from './tenant/lane.js';
import { RedisDeliveryLeases } from './tenant/redis-delivery-leases.js';
import { TenantWebhookSender, type TenantWebhookSenderOptions } from './tenant/sender.js';
import { RedisWamidAnswers, WamidAnswerNotes } from './tenant/wamid-answers.js';

export interface RedisWebhooksOptions {
  /** A connected ioredis client or Cluster (src/store/redis/connection.ts); stays the caller's. */
  client: RedisClient;
  /** The deployment's key builder (same prefix as the store's). */
  keys: RedisKeys;
  /**
   * As the store's: 'fsync' / 'unchecked' (the masters' own persistence; checked by the store at
   * open), or `{ replicas, timeoutMs }`: every outbox and parking write waits (WAIT) for that many.
   */
  durability?: RedisDurability;
  /** The tenant's `webhook` from the live config. */
  endpoint: (tenantId: string) => TenantEndpoint | undefined;
  clock?: Clock;
  /** Tuning of the sender (schedule, concurrency, breaker, window). */
  sender?: Omit<TenantWebhookSenderOptions, 'outbox' | 'endpoint' | 'clock' | 'gate'>;
  /** Delivery lease of a tenant's outbox (default 10 s): a dead holder's tenants move within about this plus 1 s. */
  leaseTtlMs?: number;
  /** This process in the fleet (default: host, pid and a random suffix). */
  ownerId?: string;
  /** Told about background failures (retried); the gateway logs them. */
  onError?: (err: unknown, what: string) => void;
}

/** As embedded.ts: statuses waiting for their wamid, at most (oldest dropped first). */
const MAX_PARKED_STATUSES = 100_000;

export async function openRedisWebhooks(options: RedisWebhooksOptions): Promise<Webhooks> {
  const clock = options.clock ?? systemClock;
  const { client, keys } = options;
  const durability = options.durability ?? 'fsync';
  const writes = new RedisWrites(client, typeof durability === 'object' ? durability : null);
  const onError = options.onError;
  const marks = new RedisSeenMarks({ client, keys, nowMs: () => clock.nowMs(), ...(onError !== undefined ? { onError } : {}) });
  const dedupe = new DeliveryDedupe({ clock, marks });
  const counters = createMetaWebhookCounters();
  const outbox = new RedisOutbox({ writes, keys });
  const gate = new RedisDeliveryLeases({
    leases: new RedisLeases(writes.run),
    keys,
    outbox,
    ownerId: options.ownerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
    ...(options.leaseTtlMs !== undefined ? { ttlMs: options.leaseTtlMs } : {}),
    ...(onError !== undefined ? { onError } : {}),
  });
  const sender = new TenantWebhookSender({
    ...options.sender, outbox, endpoint: options.endpoint, clock, gate,
    ...(onError !== undefined ? { onError } : {}),
  });
  let unmatched: RedisUnmatchedStatuses;
  try {
    unmatched = await RedisUnmatchedStatuses.open({ writes, keys, maxParked: MAX_PARKED_STATUSES });
    await sender.start();
  } catch (err) {
    await sender.close().catch(() => undefined);
    await marks.close();
    throw err;
  }
  return {
    sender,
    unmatched,
    wamidAnswers: new WamidAnswerNotes(new RedisWamidAnswers(writes, keys), (id) => sender.formatOf(id), () => clock.nowMs()),
    routeOptions: (secrets, onEvents) => ({ appSecret: secrets.appSecret, verifyToken: secrets.verifyToken, onEvents, dedupe, counters, clock }),
    stats: () => ({ meta: counters, tenant: sender.stats(), marks: marks.stats() }),
    async close() {
      await sender.close();
      await outbox.close();
      await marks.close();
    },
  };
}
