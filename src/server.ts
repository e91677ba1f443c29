/**
 * Boots a gateway: opens storage, loads the WASM core, recovers unfinished messages, listens,
 * and shuts down gracefully (stop accepting → finish in-flight sends → close pools and storage).
 * The only module that listens.
 */
import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/schema.js';
import { loadCore, type Core } from './core/index.js';
import { createDispatcher } from './dispatch/dispatcher.js';
import type { DispatchEvent, Dispatcher, NumberInfo } from './dispatch/types.js';
import { allowAll } from './gateway/ports.js';
import { TenantRegistry } from './gateway/tenants.js';
import { GatewayMetrics } from './observability/metrics.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';
import { createUndiciUpstream } from './upstream/undici-upstream.js';

export interface GatewayHandle {
  app: FastifyInstance;
  /** Base URL the gateway listens on, e.g. http://127.0.0.1:8080 */
  url: string;
  store: Store;
  dispatcher: Dispatcher;
  core: Core;
  close(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  /** Extra Fastify plugins (e.g. webhooks) registered on the app. */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
  /** Default true: /metrics includes process metrics. */
  defaultMetrics?: boolean;
}

export async function startGateway(config: Readonly<Config>, options: StartOptions = {}): Promise<GatewayHandle> {
  const clock = options.clock ?? systemClock;
  const store = await openStore(config.storage, clock);
  const core = await loadCore(config.core);
  const upstream = createUndiciUpstream(config.upstream);
  const tenants = new TenantRegistry(config);

  // Live per-number limits: the dispatcher reads this map at every decision.
  const numbers = new Map<string, NumberInfo>();
  for (const { tenant, number } of tenants.numbers()) {
    numbers.set(number.phoneNumberId, { tenantId: tenant.id, accessToken: number.accessToken, mps: number.mps, burst: number.burst });
  }

  // The app needs the dispatcher and the dispatcher logs through the app's logger: the app gets
  // late-bound ports, used only after createDispatcher below has run (before listen).
  let dispatcher: Dispatcher;
  const metrics = new GatewayMetrics(() => dispatcher.snapshot(), { defaultMetrics: options.defaultMetrics ?? true });
  const app = await buildApp({
    deps: {
      config, tenants, store, clock, metrics,
      policy: allowAll,
      coreLoaded: () => true,
      dispatch: {
        submit: (record) => dispatcher.submit(record),
        estimateWaitMs: (id) => dispatcher.estimateWaitMs(id),
        waitForOutcome: (id, timeoutMs) => dispatcher.waitForOutcome(id, timeoutMs),
      },
    },
    control: {
      setLimits: (id, change) => dispatcher.setLimits(id, change),
      pause: (id) => dispatcher.pause(id),
      resume: (id) => dispatcher.resume(id),
    },
    plugins: options.plugins,
  });
  dispatcher = createDispatcher({
    store, upstream, clock, numbers,
    pacer: core.gcra,
    config: { dispatch: config.dispatch },
    log: app.log,
    onEvent(event: DispatchEvent) {
      if (event.type === 'attempt') metrics.upstreamSends.inc({ outcome: event.outcome, code: String(event.code) });
      else if (event.state === 'sent') metrics.dispatchLatency.observe(event.latencyMs / 1000);
    },
  });
  dispatcher.recover(await store.unfinished());

  const address = await app.listen({ host: config.listen.host, port: config.listen.port });
  const url = address.replace('[::1]', '127.0.0.1');
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close();
      await dispatcher.close();
      await upstream.close();
      await store.close();
    })();
    return closing;
  };
  return { app, url, store, dispatcher, core, close };
}
