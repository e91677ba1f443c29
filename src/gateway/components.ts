/**
 * Opens everything a gateway runs on, in dependency order, and closes it in reverse:
 * storage, the WASM core, the policy engine (replaying its state into the core), webhooks
 * (outbox and sender), the Meta event consumer, and the upstream pool. No HTTP here.
 *
 * Which backend each durable seam has (embedded SQLite or Redis) is decided in backend.ts.
 */
import type { BroadcastStore } from '../broadcasts/store.js';
import type { Clock } from '../clock.js';
import type { Config, TenantConfig } from '../config/schema.js';
import { loadCore, type Core } from '../core/index.js';
import type { NumberInfo } from '../dispatch/types.js';
import { policyConsumerHooks, type PolicyEngine } from '../policy/index.js';
import { isFleetPolicy } from '../policy/shared-engine.js';
import type { Store } from '../store/types.js';
import { createUndiciUpstream, type UndiciUpstream } from '../upstream/undici-upstream.js';
import { compileOptOutWords, DEFAULT_OPT_OUT_SET, MetaEventConsumer, type Webhooks } from '../webhooks/index.js';
import { AccountSignals } from './account-signals.js';
import { openBackend } from './backend.js';
import { TenantCatalog } from './catalog/catalog.js';
import { TenantRuntime } from './catalog/runtime.js';
import { TemplateCategories } from './template-categories.js';
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
  /** Opens the broadcast store of the storage's kind (the broadcast service closes it). */
  openBroadcasts: () => BroadcastStore;
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

  // Every durable seam's backend (embedded SQLite or Redis) is picked in backend.ts.
  const backend = await openBackend(config, clock, onError);
  const { store, memberId } = backend;
  // The tenants run from the catalog in the store (the config file seeds it): everything below
  // starts from its current tenants and follows its changes.
  const catalog = await TenantCatalog.open({
    backend: backend.catalog.backend, runtime, clock, seed: config.tenants, pollMs: backend.catalog.pollMs,
    ...(onError !== undefined ? { onError } : {}),
  }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  if (backend.numberMoved !== undefined) runtime.onNumberMoved((id) => backend.numberMoved!(id));
  /** The config with the catalog's tenants, for what is built from tenants at boot (the policies). */
  const running: Readonly<Config> = { ...config, tenants: [...tenants.tenants()] };
  // Each tenant its share of the unique/repeat member tables (default: an equal split), so one
  // tenant filling them cannot refuse another's sends.
  const core = await loadCore({ ...config.core, scopeShare: config.core.scopeShare ?? 1 / Math.max(1, running.tenants.length) });
  const delivery = config.webhookDelivery;
  // Built before any dispatch: the core never moves time backwards, and the replay of the last
  // 24 h of tier charges and open windows must be its first calls.
  const policy = await backend.policy(core, running);
  const webhooks = await backend.webhooks({
    clock,
    endpoint: (id: string) => tenants.tenant(id)?.webhook,
    sender: {
      ...(delivery.retryScheduleMs !== undefined ? { retryScheduleMs: delivery.retryScheduleMs } : {}),
      concurrencyPerEndpoint: delivery.concurrencyPerEndpoint,
      timeoutMs: delivery.timeoutMs,
      breaker: { failureThreshold: delivery.breakerFailures, coolDownMs: delivery.breakerCoolDownMs },
    },
    ...(onError !== undefined ? { onError } : {}),
  });
  const engine = policy;
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
    openBroadcasts: () => backend.broadcasts(),
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
