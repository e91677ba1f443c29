/**
 * Boots a gateway: opens its components, recovers unfinished messages, listens, and shuts down
 * gracefully (stop accepting → finish in-flight sends → close pools, webhooks and storage).
 * The only module that listens.
 */
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/schema.js';
import type { Core } from './core/index.js';
import { controlKeys } from './dispatch/control-state.js';
import { createDispatcher } from './dispatch/dispatcher.js';
import type { DispatchEvent, Dispatcher } from './dispatch/types.js';
import { DEFAULT_LEASE_TTL_MS, FleetMember } from './fleet/member.js';
import { openComponents } from './gateway/components.js';
import { messageEndings, OWED_SWEEP_MS } from './gateway/message-ended.js';
import { numberViews } from './gateway/number-views.js';
import { RecipientAliases } from './gateway/recipient-aliases.js';
import type { AdminViews } from './http/admin-views.js';
import type { GatewayDeps } from './http/deps.js';
import { buildOpsApp } from './http/ops-app.js';
import { mediaRoutes } from './http/routes/media.js';
import { MediaRelay } from './upstream/media-relay.js';
import { startBroadcasts, type BroadcastService } from './broadcasts/index.js';
import { broadcastRoutes } from './http/routes/broadcasts.js';
import { consentRoutes } from './http/routes/consent.js';
import { GatewayMetrics, registerCoreMetrics } from './observability/metrics.js';
import { registerPolicyMetrics, type PolicyEngine } from './policy/index.js';
import { isFleetPolicy } from './policy/shared-engine.js';
import { storedNumberState } from './store/redis/number-state.js';
import { RedisStore } from './store/redis/redis-store.js';
import type { MessageRecord, RecordedError, Store } from './store/types.js';
import type { GatewayError } from './errors.js';
import { metaWebhookRoutes } from './webhooks/index.js';
import { registerWebhookMetrics } from './webhooks/metrics.js';
import { registerSignalMetrics } from './gateway/account-signals-metrics.js';

/** What a template's departure is checked with. */
const departureOf = (rec: MessageRecord, nowMs: number) => ({ phoneNumberId: rec.phoneNumberId, to: rec.to, marketing: rec.priority === 1, nowMs });

/** A policy refusal as the record keeps it. */
function recorded(refused: GatewayError | null): RecordedError | null {
  return refused === null ? null : { code: refused.spec.graphCode, title: refused.spec.title, details: refused.details, httpStatus: refused.spec.status };
}

/** Upstream answers about a recipient that the policies learn (undeliverable, marketing cap, opt-out). */
const LEARNED_FROM_ANSWERS: ReadonlySet<number> = new Set([131026, 131049, 131050]);

export interface GatewayHandle {
  app: FastifyInstance;
  /** Base URL the gateway listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  /** Base URL of the operators' listener (config ops.listen); the main URL when there is none. */
  opsUrl: string;
  store: Store;
  dispatcher: Dispatcher;
  core: Core;
  policy: PolicyEngine;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Default true: /metrics includes process metrics. */
  defaultMetrics?: boolean;
}

export async function startGateway(config: Readonly<Config>, options: StartOptions = {}): Promise<GatewayHandle> {
  const clock = options.clock ?? systemClock;
  // Background failures are logged through the app's logger once it exists (before, nothing runs
  // that could fail: Meta webhooks and sends only arrive after listen).
  let log: Pick<FastifyBaseLogger, 'error'> | undefined;
  const parts = await openComponents(config, clock, (err, what) => log?.error({ err }, `${what} failed; kept, will retry`));
  const { store, core, policy, webhooks, consumer, tenants } = parts;
  const recipients = new RecipientAliases();

  // The app needs the dispatcher and the dispatcher logs through the app's logger: the app gets
  // late-bound ports, used only after createDispatcher below has run (before listen).
  let dispatcher: Dispatcher;
  // In a fleet (storage on Redis) this process dispatches the numbers whose leases it holds.
  let fleet: FleetMember | null = null;
  const metrics = new GatewayMetrics(() => dispatcher.snapshot(), {
    defaultMetrics: options.defaultMetrics ?? true,
    capacity: () => dispatcher.capacity(),
  });
  registerPolicyMetrics(metrics.registry, policy);
  registerCoreMetrics(metrics.registry, () => core.stats());
  registerWebhookMetrics(metrics.registry, () => webhooks.stats());
  registerSignalMetrics(metrics.registry, () => parts.signals.stats());
  const plugins: Array<(app: FastifyInstance) => Promise<void>> = [
    (app) => consentRoutes(app, {
      tenants, clock, recipients,
      consent: isFleetPolicy(policy)
        ? { recordConsent: (records) => policy.recordConsentAsync(records), consentOf: (t, r) => policy.consentOfAsync(t, r) }
        : policy,
    }),
  ];
  // Media relayed to Meta with the number's token (src/http/routes/media.ts), on its own pool.
  const mediaRelay = new MediaRelay(config.upstream);
  plugins.push((app) => mediaRoutes(app, {
    tenants, clock, relay: mediaRelay, version: config.upstream.version,
    maxBytes: config.limits.mediaMaxBytes, ratePerSec: config.limits.mediaRequestsPerSec, burst: config.limits.mediaBurst,
  }));
  const secrets = config.webhooks;
  if (secrets !== undefined) {
    plugins.push(async (app) => {
      // Display numbers are learned from every batch first: a quality signal names a number by it.
      await app.register(metaWebhookRoutes, webhooks.routeOptions(secrets, async (events) => {
        await parts.signals.learn(events);
        await consumer.onEvents(events);
      }));
    });
  }

  // Broadcasts run once the dispatcher has recovered (below); in a fleet, by the number's owner.
  let broadcasts: BroadcastService | null = null;
  plugins.push((app) => broadcastRoutes(app, { deps: { config, tenants, clock }, service: () => broadcasts }));
  const deps: GatewayDeps = {
    config, tenants, store, clock, metrics, policy, recipients,
    templates: { categoryOf: (tenantId, name, language) => parts.templates.categoryOf(tenantId, name, language) },
    coreLoaded: () => true,
    wamidAnswers: webhooks.wamidAnswers,
    dispatch: {
      submit: (record) => dispatcher.submit(record),
      estimateWaitMs: (id, ahead) => dispatcher.estimateWaitMs(id, ahead),
      queued: (id) => fleet === null ? dispatcher.queued(id) : fleet.queued(dispatcher, id),
      waitForOutcome: (id, timeoutMs) => fleet === null ? dispatcher.waitForOutcome(id, timeoutMs) : fleet.waitForOutcome(dispatcher, id, timeoutMs),
    },
  };
  const control = {
    setLimits: (id: string, change: Parameters<Dispatcher['setLimits']>[1]) => dispatcher.setLimits(id, change),
    pause: (id: string) => dispatcher.pause(id),
    resume: (id: string) => dispatcher.resume(id),
    pauseTenant: (id: string) => dispatcher.pauseTenant(id),
    resumeTenant: (id: string) => dispatcher.resumeTenant(id),
  };
  // Sends answered ok per number, for the dashboard's rates (keys: the configured numbers).
  const sentByNumber = new Map<string, number>();
  // The admin views (src/http/routes/admin-*.ts): in a fleet, numbers another process owns are
  // answered from the store (src/gateway/number-views.ts).
  const views: AdminViews = {
    numbers: () => numberViews({
      numbers: parts.numbers, lanes: () => dispatcher.snapshot(), headroom: config.dispatch.headroom, clock, sent: sentByNumber,
      ...(fleet !== null && store instanceof RedisStore ? {
        fleet: {
          memberId: fleet.memberId, holds: (id: string) => fleet!.ownership.holds(id),
          stored: (tenantId: string, id: string) => storedNumberState(store, tenantId, id), controlEntries: () => store.controlEntries(),
        },
      } : {}),
    }),
    tierUse: (tenantId) => policy.tierUse(tenantId),
    deadLetters: (tenantId, afterSeq, limit) => webhooks.sender.deadLetters(tenantId, afterSeq, limit),
    replayDead: (tenantId) => webhooks.sender.replayDead(tenantId),
    broadcasts: async (query) => (await broadcasts?.list(query)) ?? null,
  };
  const tenantAdmin = {
    catalog: parts.catalog,
    async resumeAfterNewToken(tenantId: string) {
      // In a fleet the number's owner may have recorded the 190 pause a moment ago: read it first.
      const key = controlKeys.tenant(tenantId);
      if (store instanceof RedisStore) dispatcher.controlChanged(key, await store.controlEntry(key));
      return dispatcher.resumeAfterNewToken(tenantId);
    },
  };
  const app = await buildApp({ deps, control, plugins, tenantAdmin, ops: config.ops === undefined ? { views } : false });
  const opsApp = config.ops === undefined ? null : await buildOpsApp({ main: app, deps, control, views, tenantAdmin });
  log = app.log;
  if (store instanceof RedisStore && parts.memberId !== null) {
    const leaseTtlMs = (config.storage.kind === 'redis' ? config.storage.leaseTtlMs : undefined) ?? DEFAULT_LEASE_TTL_MS;
    const owned = () => [...parts.numbers].map(([phoneNumberId, info]) => ({ phoneNumberId, tenantId: info.tenantId }));
    fleet = new FleetMember(store, parts.memberId, leaseTtlMs, owned, app.log);
  }
  // Messages that end unsent (failed, expired, rejected at departure): src/gateway/message-ended.ts.
  const endings = messageEndings(parts, clock, app.log);
  dispatcher = createDispatcher({
    store, clock, control: store,
    ...(fleet === null ? {} : { fleet: fleet.ownership }),
    upstream: parts.upstream,
    numbers: parts.numbers,
    pacer: core.gcra,
    window: core.window,
    warmup: { capsOf: (phoneNumberId, nowMs) => policy.warmupCapsOf(phoneNumberId, nowMs) },
    config: { dispatch: config.dispatch, upstream: config.upstream, maxBodyBytes: config.limits.maxBodyBytes },
    log: app.log,
    onSlotWait: (waitedMs) => metrics.slotWait.observe(waitedMs / 1000),
    // A broadcast's message (any type) against its cancel; a template then against the policies.
    refuseAtDeparture: (rec, nowMs, template) => broadcasts?.cancels.departureRefusal(rec)
      ?? (template ? recorded(policy.departureRefusal(departureOf(rec, nowMs))) : null),
    ...(isFleetPolicy(policy)
      ? {
          // A broadcast cancelled by any process of the fleet, read from the store; then the shared messaging limit.
          confirmAtDeparture: async (rec: MessageRecord, nowMs: number, template: boolean) => (await broadcasts?.cancels.departureRefusalAsync(rec))
            ?? (template ? recorded(await policy.departureTierAsync(departureOf(rec, nowMs))) : null),
        }
      : {}),
    onEvent(event: DispatchEvent) {
      if (event.type === 'attempt') {
        metrics.upstreamSends.inc({ outcome: event.outcome, code: String(event.code) });
        if (event.waId !== undefined) recipients.learn(event.to, event.waId);
        if (event.outcome === 'ok' && parts.numbers.has(event.phoneNumberId)) sentByNumber.set(event.phoneNumberId, (sentByNumber.get(event.phoneNumberId) ?? 0) + 1);
        // What an answer teaches about the recipient (131026, 131049, 131050) holds from this
        // attempt on, for the messages still queued to them, not from when this one ends.
        if (LEARNED_FROM_ANSWERS.has(event.code) && event.to !== '') {
          policy.onDeliveryFailure({ tenantId: event.tenantId, phoneNumberId: event.phoneNumberId, to: event.to, code: event.code });
        }
        return;
      }
      if (event.state === 'sent') metrics.dispatchLatency.observe(event.latencyMs / 1000);
      endings.ended(event);
      broadcasts?.messageEnded(event);
    },
  });
  // Pauses, limit overrides and learned rates first: nothing leaves before they hold again.
  const controlEntries = await store.controlEntries();
  dispatcher.restore(controlEntries);
  // What Meta's account signals set (messaging limit, quality flags, display numbers) holds again.
  parts.signals.restore(controlEntries);
  parts.signals.attach({
    pauseTenant: (id, by) => dispatcher.pauseTenant(id, by),
    resumeTenant: (id) => dispatcher.resumeTenant(id),
    setLimits: (id, change) => dispatcher.setLimits(id, change),
  }, app.log);
  // The store is the queue: recovery learns which numbers have work and their lanes page it (in a
  // fleet, each number's lanes start when this process takes its lease).
  await dispatcher.recover();
  // Tenant events a crash left owed (message-ended.ts), before new endings join them. In a fleet,
  // another process may be paying its own right now: only what is older than its sweep is ours.
  await endings.payOwed(clock.nowMs() - (fleet === null ? 0 : OWED_SWEEP_MS));
  // A number's broadcasts run where its lease is: they stop before its lane does and resume after.
  await fleet?.start(dispatcher, {
    adopt: async (numbers) => broadcasts?.adopt(numbers),
    retire: async (phoneNumberId) => broadcasts?.retire(phoneNumberId),
  });
  broadcasts = await startBroadcasts(config, metrics.registry, {
    store, policy, dispatcher, numbers: parts.numbers, webhooks: webhooks.sender, endings, clock, log: app.log, broadcasts: parts.openBroadcasts(),
    ...(fleet === null ? {} : { owns: (phoneNumberId: string) => fleet!.ownership.mayDispatch(phoneNumberId) }),
  });

  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  // Template categories are read in the background: Meta being slow at boot must not hold sends.
  void parts.templates.start();
  const url = address.replace('[::1]', '127.0.0.1');
  let opsUrl = url;
  if (opsApp !== null && config.ops !== undefined) {
    try {
      opsUrl = (await opsApp.listen({ host: config.ops.listen.host, port: config.ops.listen.port })).replace('[::1]', '127.0.0.1');
    } catch (err) {
      await app.close(); // the main listener is up: not left behind by a failed start
      throw err;
    }
  }
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await opsApp?.close();
      await app.close();
      await broadcasts?.close(); // the chunk under way is committed; the rest resumes at the next start
      await fleet?.stop(); // hands every number over, its requests answered first
      await dispatcher.close();
      await endings.drain();
      await mediaRelay.close();
      await parts.close();
    })();
    return closing;
  };
  return { app, url, opsUrl, store, dispatcher, core, policy, close };
}
