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
import type { Config, TenantConfig } from '../config/schema.js';
import { loadCore, type Core } from '../core/index.js';
import type { NumberInfo } from '../dispatch/types.js';
import { createPolicyEngine, openPolicyStore, POLICY_DB_FILE, policyConsumerHooks, type PolicyEngine } from '../policy/index.js';
import { newMemberId } from '../fleet/member.js';
import { openStore } from '../store/index.js';
import { isFleetPolicy } from '../policy/shared-engine.js';
import { RedisStore } from '../store/redis/redis-store.js';
import type { Store } from '../store/types.js';
import { createUndiciUpstream, type UndiciUpstream } from '../upstream/undici-upstream.js';
import { compileOptOutWords, DEFAULT_OPT_OUT_SET, MetaEventConsumer, openEmbeddedWebhooks, type Webhooks } from '../webhooks/index.js';
import { openRedisWebhooks } from '../webhooks/redis.js';
import { AccountSignals } from './account-signals.js';
import { TenantCatalog } from './catalog/catalog.js';
import { RedisCatalogBackend } from './catalog/redis-backend.js';
import { TenantRuntime } from './catalog/runtime.js';
import { SqliteCatalogBackend } from './catalog/sqlite-backend.js';
import { TemplateCategories } from './template-categories.js';
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
  /** Runtime tenants and keys (admin API), seeded from the config; keeps `tenants` and `numbers` current. */
  catalog: TenantCatalog;
  /** Meta's account signals (capability, quality, account_update, user_preferences, template_category_update). */
  signals: AccountSignals;
  /** Each tenant's templates' categories, read from Meta (tenants with wabaIds). */
  templates: TemplateCategories;
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
  const runtime = new TenantRuntime(tenants, numbers);

  // In a fleet each process is a member with its own id (leases, notices, webhook delivery).
  const memberId = config.storage.kind === 'redis' ? newMemberId() : null;
  const store = await openStore(config.storage, clock, onError, memberId ?? undefined);
  // The tenants run from the catalog in the store (the config file seeds it): everything below
  // starts from its current tenants and follows its changes.
  const catalog = await TenantCatalog.open({
    backend: store instanceof RedisStore ? new RedisCatalogBackend(store, memberId!) : new SqliteCatalogBackend(config.storage.kind === 'embedded' ? config.storage.path : ''),
    runtime, clock, seed: config.tenants,
    pollMs: store instanceof RedisStore ? 2000 : 0,
    ...(onError !== undefined ? { onError } : {}),
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  if (store instanceof RedisStore) runtime.onNumberMoved((id) => store.forgetNumber(id));
  /** The config with the catalog's tenants, for what is built from tenants at boot (the policies). */
  const running: Readonly<Config> = { ...config, tenants: [...tenants.tenants()] };
  // Each tenant its share of the unique/repeat member tables (default: an equal split), so one
  // tenant filling them cannot refuse another's sends.
  const core = await loadCore({ ...config.core, scopeShare: config.core.scopeShare ?? 1 / Math.max(1, running.tenants.length) });
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
    policy = await openFleetPolicy({ config: running, core, clock, store, ...(onError !== undefined ? { onError } : {}) });
    webhooks = await openRedisWebhooks({
      ...webhookOptions, client: store.client, keys: store.keys, ownerId: memberId!,
      ...(storage.durability !== undefined ? { durability: storage.durability } : {}),
      ...(storage.leaseTtlMs !== undefined ? { leaseTtlMs: storage.leaseTtlMs } : {}),
    });
  } else {
    const dataDir = config.storage.kind === 'embedded' ? config.storage.path : '';
    // Built before any dispatch: the core never moves time backwards, and the replay of the last
    // 24 h of tier charges and open windows must be its first calls.
    policy = createPolicyEngine({ config: running, core, clock, store: openPolicyStore(join(dataDir, POLICY_DB_FILE), { onError }) });
    webhooks = await openEmbeddedWebhooks({ ...webhookOptions, storagePath: dataDir });
  }
  const engine = policy; // a const for the closures below (`policy` is assigned in either branch)
  const templates = new TemplateCategories({ tenants, baseUrl: config.upstream.baseUrl, version: config.upstream.version, timeoutMs: config.upstream.timeoutMs });
  const signals = new AccountSignals({
    tenants, store, clock, templates,
    setMessagingLimit: (tenantId, limit) => engine.setMessagingLimit(tenantId, limit),
    recordConsent: (records) => isFleetPolicy(engine) ? engine.recordConsentAsync(records) : engine.recordConsent(records),
  });
  // Each tenant's own opt-out words, so the `optOut` flag of its inbound webhooks agrees with the
  // opt-out the policy records (compiled once per tenant version, runtime changes included;
  // tenants without their own get every language's).
  const optOutWords = new WeakMap<TenantConfig, ReadonlySet<string>>();
  const optOutWordsOf = (tenantId: string) => {
    const tenant = tenants.tenant(tenantId);
    if (tenant?.policy.optOutWords === undefined) return DEFAULT_OPT_OUT_SET;
    let compiled = optOutWords.get(tenant);
    if (compiled === undefined) optOutWords.set(tenant, compiled = compileOptOutWords(tenant.policy.optOutWords));
    return compiled;
  };
  const consumer = new MetaEventConsumer({
    records: store, owners: tenants, sink: webhooks.sender, unmatched: webhooks.unmatched, wamidAnswers: webhooks.wamidAnswers, clock,
    optOutWords: optOutWordsOf,
    hooks: { ...policyConsumerHooks(policy, tenants), onSignal: signals.onSignal },
    ...(onError !== undefined ? { onError } : {}),
  });
  const upstream = createUndiciUpstream(config.upstream);
  runtime.onChange((live) => policy.setTenants(live));
  // A change that arrived while the policies were being built (a fleet's notice) holds too.
  policy.setTenants([...tenants.tenants()]);

  return {
    store, core, policy, webhooks, consumer, upstream, tenants, catalog, signals, templates, numbers, memberId,
    async close() {
      templates.close();
      signals.close();
      consumer.close();
      await upstream.close();
      await webhooks.close();
      await policy.close(); // a fleet's engine waits for its writes in flight
      catalog.close();
      await store.close();
    },
  };
}
