/**
 * Opens everything a gateway runs on, in dependency order, and closes it in reverse:
 * storage, the WASM core, the policy engine (replaying its state into the core), webhooks
 * (outbox and sender), the Meta event consumer, and the upstream pool. No HTTP here.
 */
import { join } from 'node:path';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { loadCore, type Core } from '../core/index.js';
import type { NumberInfo } from '../dispatch/types.js';
import { createPolicyEngine, openPolicyStore, POLICY_DB_FILE, policyConsumerHooks, type PolicyEngine } from '../policy/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createUndiciUpstream, type UndiciUpstream } from '../upstream/undici-upstream.js';
import { MetaEventConsumer, openEmbeddedWebhooks, type Webhooks } from '../webhooks/index.js';
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
  close(): Promise<void>;
}

/**
 * `onError` hears about failures of background work (timers, write-behind) that is kept and tried
 * again rather than thrown out of the event loop; the gateway logs them.
 */
export async function openComponents(config: Readonly<Config>, clock: Clock, onError?: (err: unknown, what: string) => void): Promise<Components> {
  if (config.storage.kind !== 'embedded') {
    // The message store runs on Redis (src/store/redis); these parts still have only their SQLite
    // files under storage.path, so a fleet could not share them yet.
    throw new Error(
      'storage.kind "redis": the message store (records, queues, idempotency keys, control state) runs on Redis, ' +
        'but the policy store (consent, service windows, deferrals, messaging-limit and repeat windows), ' +
        'the tenant-webhook outbox and the Meta webhook dedupe are not on Redis yet; ' +
        'use { "kind": "embedded", "path": "..." } for now',
    );
  }
  const dataDir = config.storage.path;
  const tenants = new TenantRegistry(config);
  const numbers = new Map<string, NumberInfo>();
  for (const { tenant, number } of tenants.numbers()) {
    const pairRate = tenant.policy.pairRate;
    numbers.set(number.phoneNumberId, {
      tenantId: tenant.id, accessToken: number.accessToken, mps: number.mps, burst: number.burst,
      pair: { intervalMs: pairRate.intervalSec * 1000, burst: pairRate.burst },
    });
  }

  const store = await openStore(config.storage, clock, onError);
  const core = await loadCore(config.core);
  // Built before any dispatch: the core never moves time backwards, and the replay of the last
  // 24 h of tier charges and open windows must be its first calls.
  const policy = createPolicyEngine({ config, core, clock, store: openPolicyStore(join(dataDir, POLICY_DB_FILE), { onError }) });
  const delivery = config.webhookDelivery;
  const webhooks = await openEmbeddedWebhooks({
    storagePath: dataDir, clock, onError,
    endpoint: (id) => tenants.tenant(id)?.webhook,
    sender: {
      ...(delivery.retryScheduleMs !== undefined ? { retryScheduleMs: delivery.retryScheduleMs } : {}),
      concurrencyPerEndpoint: delivery.concurrencyPerEndpoint,
      timeoutMs: delivery.timeoutMs,
      breaker: { failureThreshold: delivery.breakerFailures, coolDownMs: delivery.breakerCoolDownMs },
    },
  });
  const consumer = new MetaEventConsumer({
    records: store, owners: tenants, sink: webhooks.sender, unmatched: webhooks.unmatched, clock, hooks: policyConsumerHooks(policy, tenants),
    ...(onError !== undefined ? { onError } : {}),
  });
  const upstream = createUndiciUpstream(config.upstream);

  return {
    store, core, policy, webhooks, consumer, upstream, tenants, numbers,
    async close() {
      consumer.close();
      await upstream.close();
      await webhooks.close();
      policy.close();
      await store.close();
    },
  };
}
