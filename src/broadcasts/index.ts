/**
 * Wiring of broadcasts into a gateway: the service over `<storage.path>/broadcasts.db`, resumed
 * after the dispatcher recovered its queue, and its metrics. Embedded storage only for now: a
 * fleet (Redis) gets null and the routes answer 404.
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { registerBroadcastMetrics } from './metrics.js';
import { BroadcastService, type BroadcastDeps } from './service.js';
import { BroadcastStore } from './store.js';

export { BroadcastService } from './service.js';

export async function startBroadcasts(config: Readonly<Config>, registry: Registry, deps: Omit<BroadcastDeps, 'broadcasts' | 'headroom' | 'settings'>): Promise<BroadcastService | null> {
  if (config.storage.kind !== 'embedded') return null;
  const service = new BroadcastService({
    ...deps,
    broadcasts: new BroadcastStore(config.storage.path),
    headroom: config.dispatch.headroom,
    settings: {
      ...config.broadcasts,
      ...(config.storage.retentionDays === undefined ? {} : { retentionMs: Math.round(config.storage.retentionDays * 86_400_000) }),
    },
  });
  await service.start();
  registerBroadcastMetrics(registry, () => service.active());
  return service;
}
