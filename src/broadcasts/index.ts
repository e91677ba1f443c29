/**
 * Wiring of broadcasts into a gateway: the service over the storage's broadcast store (SQLite
 * `<storage.path>/broadcasts.db`, or Redis in a fleet: gateway/backend.ts picks it), resumed after
 * the dispatcher recovered its queue, and its metrics. In a fleet `owns` says which numbers'
 * broadcasts this process runs (the leases it holds).
 */
import type { Registry } from 'prom-client';
import type { Config } from '../config/schema.js';
import { registerBroadcastMetrics } from './metrics.js';
import { BroadcastService, type BroadcastDeps } from './service.js';

export { BroadcastService } from './service.js';

export async function startBroadcasts(config: Readonly<Config>, registry: Registry, deps: Omit<BroadcastDeps, 'headroom' | 'settings'>): Promise<BroadcastService> {
  const service = new BroadcastService({
    ...deps,
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
