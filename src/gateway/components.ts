/**
 * Opens everything a gateway runs on, in dependency order, and closes it in reverse:
 * storage, the WASM core, the policy engine (replaying its state into the core), webhooks
 * (outbox and sender), the Meta event consumer, and the upstream pool. No HTTP here.
 *
 * The one place that picks the backend of every durable seam: embedded (SQLite files under
 * `storage.path`) or Redis (one connection shared by the message store, the policy state and the
 * webhooks; a fleet of processes on it).
 */
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { loadCore, type Core } from '../core/index.js';
import type { NumberInfo } from '../dispatch/types.js';
import { createPolicyEngine, openPolicyStore, POLICY_DB_FILE, policyConsumerHooks, type PolicyEngine } from '../policy/index.js';
import { newMemberId } from '../fleet/member.js';
import { openStore } from '../store/index.js';
import { RedisStore } from '../store/redis/redis-store.js';
import type { Store } from '../store/types.js';
import { createUndiciUpstream, type UndiciUpstream } from '../upstream/undici-upstream.js';
import { MetaEventConsumer, openEmbeddedWebhooks, type Webhooks } from '../webhooks/index.js';
import { openRedisWebhooks } from '../webhooks/redis.js';
import { openFleetPolicy } from './fleet-policy.js';
import { TenantRegistry } from './tenants.js';

export interface Components {
  store: Store;
  core: Core;
  policy: PolicyEngine;
  webhooks: Webhooks;
  consumer: MetaEventConsumer;
  upstream: UndiciUpstream;
  tenants: TenantRegistry;
  /** Live per-number limits: the dispatcher reads this map at every decision. */
  numbers: Map<string, NumberInfo>;
  /** In a fleet (storage on Redis): this process's member id; null when embedded. */
  memberId: string | null;
  close(): Promise<void>;
}

/**
 * `onError` hears about failures of background work (timers, write-behind) that is kept and tried
 * again rather than thrown out of the event loop; the gateway logs them.
 */
export async function openComponents(config: Readonly<Config>, clock: Clock, onError?: (err: unknown, what: string) => void): Promise<Components> {
  const tenants = new TenantRegistry(config);
  const numbers = new Map<string, NumberInfo>();
  for (const { tenant, number } of tenants.numbers()) {
    const pairRate = tenant.policy.pairRate;
    numbers.set(number.phoneNumberId, {
      tenantId: tenant.id, accessToken: number.accessToken, mps: number.mps, burst: number.burst,
      pair: { intervalMs: pairRate.intervalSec * 1000, burst: pairRate.burst },
    });
  }

  // In a fleet each process is a member with its own id (leases, notices, webhook delivery).
  const memberId = config.storage.kind === 'redis' ? newMemberId() : null;
  const store = await openStore(config.storage, clock, onError, memberId ?? undefined);
  // Each tenant its share of the unique/repeat member tables (default: an equal split), so one
  // tenant filling them cannot refuse another's sends.
  const core = await loadCore({ ...config.core, scopeShare: config.core.scopeShare ?? 1 / config.tenants.length });
  const delivery = config.webhookDelivery;
  const webhookOptions = {
    clock,
    endpoint: (id: string) => tenants.tenant(id)?.webhook,
    sender: {
      ...(delivery.retryScheduleMs !== undefined ? { retryScheduleMs: delivery.retryScheduleMs } : {}),
      concurrencyPerEndpoint: delivery.concurrencyPerEndpoint,
      timeoutMs: delivery.timeoutMs,
      breaker: { failureThreshold: delivery.breakerFailures, coolDownMs: delivery.breakerCoolDownMs },
    },
    ...(onError !== undefined ? { onError } : {}),
  };
  let policy: PolicyEngine;
  let webhooks: Webhooks;
  if (store instanceof RedisStore) {
    const storage = config.storage as Extract<Config['storage'], { kind: 'redis' }>;
    // Built before any dispatch, like the embedded engine: the core never moves time backwards.
    policy = await openFleetPolicy({ config, core, clock, store, ...(onError !== undefined ? { onError } : {}) });
    webhooks = await openRedisWebhooks({
      ...webhookOptions, client: store.client, keys: store.keys, ownerId: memberId!,
      ...(storage.durability !== undefined ? { durability: storage.durability } : {}),
      ...(storage.leaseTtlMs !== undefined ? { leaseTtlMs: storage.leaseTtlMs } : {}),
    });
  } else {
    const dataDir = config.storage.kind === 'embedded' ? config.storage.path : '';
    // Built before any dispatch: the core never moves time backwards, and the replay of the last
    // 24 h of tier charges and open windows must be its first calls.
    policy = createPolicyEngine({ config, core, clock, store: openPolicyStore(join(dataDir, POLICY_DB_FILE), { onError }) });
    webhooks = await openEmbeddedWebhooks({ ...webhookOptions, storagePath: dataDir });
  }
  const consumer = new MetaEventConsumer({
    records: store, owners: tenants, sink: webhooks.sender, unmatched: webhooks.unmatched, clock, hooks: policyConsumerHooks(policy, tenants),
    ...(onError !== undefined ? { onError } : {}),
  });
  const upstream = createUndiciUpstream(config.upstream);

  return {
    store, core, policy, webhooks, consumer, upstream, tenants, numbers, memberId,
    async close() {
      consumer.close();
      await upstream.close();
      await webhooks.close();
      await policy.close(); // a fleet's engine waits for its writes in flight
      await store.close();
    },
  };
}
