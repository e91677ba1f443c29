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
import { createDispatcher } from './dispatch/dispatcher.js';
import type { DispatchEvent, Dispatcher } from './dispatch/types.js';
import { DEFAULT_LEASE_TTL_MS, FleetMember } from './fleet/member.js';
import { openComponents } from './gateway/components.js';
import { messageEndings } from './gateway/message-ended.js';
import { startBroadcasts, type BroadcastService } from './broadcasts/index.js';
import { broadcastRoutes } from './http/routes/broadcasts.js';
import { consentRoutes } from './http/routes/consent.js';
import { GatewayMetrics, registerCoreMetrics } from './observability/metrics.js';
import { registerPolicyMetrics, type PolicyEngine } from './policy/index.js';
import { isFleetPolicy } from './policy/shared-engine.js';
import { RedisStore } from './store/redis/redis-store.js';
import type { MessageRecord, RecordedError, Store } from './store/types.js';
import type { GatewayError } from './errors.js';
import { metaWebhookRoutes } from './webhooks/index.js';
import { registerWebhookMetrics } from './webhooks/metrics.js';

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
  const plugins: Array<(app: FastifyInstance) => Promise<void>> = [
    (app) => consentRoutes(app, {
      tenants, clock,
      consent: isFleetPolicy(policy)
        ? { recordConsent: (records) => policy.recordConsentAsync(records), consentOf: (t, r) => policy.consentOfAsync(t, r) }
        : policy,
    }),
  ];
  const secrets = config.webhooks;
  if (secrets !== undefined) {
    plugins.push(async (app) => {
      await app.register(metaWebhookRoutes, webhooks.routeOptions(secrets, consumer.onEvents));
    });
  }

  // Broadcasts run once the dispatcher has recovered (below); embedded storage only for now.
  let broadcasts: BroadcastService | null = null;
  plugins.push((app) => broadcastRoutes(app, { deps: { config, tenants, clock }, service: () => broadcasts }));
  const app = await buildApp({
    deps: {
      config, tenants, store, clock, metrics, policy,
      coreLoaded: () => true,
      dispatch: {
        submit: (record) => dispatcher.submit(record),
        estimateWaitMs: (id, ahead) => dispatcher.estimateWaitMs(id, ahead),
        queued: (id) => fleet === null ? dispatcher.queued(id) : fleet.queued(dispatcher, id),
        waitForOutcome: (id, timeoutMs) => fleet === null ? dispatcher.waitForOutcome(id, timeoutMs) : fleet.waitForOutcome(dispatcher, id, timeoutMs),
      },
    },
    control: {
      setLimits: (id, change) => dispatcher.setLimits(id, change),
      pause: (id) => dispatcher.pause(id),
      resume: (id) => dispatcher.resume(id),
      pauseTenant: (id) => dispatcher.pauseTenant(id),
      resumeTenant: (id) => dispatcher.resumeTenant(id),
    },
    plugins,
  });
  log = app.log;
  if (store instanceof RedisStore && parts.memberId !== null) {
    const leaseTtlMs = (config.storage.kind === 'redis' ? config.storage.leaseTtlMs : undefined) ?? DEFAULT_LEASE_TTL_MS;
    const owned = () => [...parts.numbers].map(([phoneNumberId, info]) => ({ phoneNumberId, tenantId: info.tenantId }));
    fleet = new FleetMember(store, parts.memberId, leaseTtlMs, owned, app.log);
  }
  // Messages that end unsent (failed, expired, rejected at departure): src/gateway/message-ended.ts.
  const endings = messageEndings(parts, app.log);
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
    refuseAtDeparture: (rec, nowMs) => broadcasts?.departureRefusal(rec) ?? recorded(policy.departureRefusal(departureOf(rec, nowMs))),
    ...(isFleetPolicy(policy)
      ? { confirmAtDeparture: async (rec: MessageRecord, nowMs: number) => recorded(await policy.departureTierAsync(departureOf(rec, nowMs))) }
      : {}),
    onEvent(event: DispatchEvent) {
      if (event.type === 'attempt') {
        metrics.upstreamSends.inc({ outcome: event.outcome, code: String(event.code) });
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
  dispatcher.restore(await store.controlEntries());
  // The store is the queue: recovery learns which numbers have work and their lanes page it (in a
  // fleet, each number's lanes start when this process takes its lease).
  await dispatcher.recover();
  await fleet?.start(dispatcher);
  broadcasts = await startBroadcasts(config, metrics.registry, {
    store, policy, dispatcher, numbers: parts.numbers, webhooks: webhooks.sender, clock, log: app.log,
  });

  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  const url = address.replace('[::1]', '127.0.0.1');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close();
      await broadcasts?.close(); // the chunk under way is committed; the rest resumes at the next start
      await fleet?.stop(); // hands every number over, its requests answered first
      await dispatcher.close();
      await endings.drain();
      await parts.close();
    })();
    return closing;
  };
  return { app, url, store, dispatcher, core, policy, close };
}
