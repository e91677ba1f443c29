/**
 * Store factory: the one place that picks an implementation from `storage` config.
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import { ThreadedEmbeddedStore } from './embedded/threaded-store.js';
import { parseRedisUrl } from './redis/connection.js';
import { RedisStore } from './redis/redis-store.js';
import type { Store } from './types.js';

export type { Store } from './types.js';
export { FINAL_STATES } from './types.js';

/**
 * `onError` hears about background faults the store recovers from (a worker that died and is
 * respawned). `memberId`: in a fleet, this process's id (the Redis store then publishes a wake
 * notice for each stored message, tagged with it).
 */
export async function openStore(storage: Config['storage'], clock: Clock, onError?: (err: unknown, what: string) => void, memberId?: string): Promise<Store> {
  switch (storage.kind) {
    case 'embedded':
      // In a worker thread: SQLite's commits and fsyncs never block the HTTP event loop.
      return ThreadedEmbeddedStore.open(storage.path, clock, {
        onError,
        ...(storage.retentionDays === undefined ? {} : { finalRetentionMs: Math.round(storage.retentionDays * 86_400_000) }),
      });
    case 'redis':
      // `redis://host:port` for one server, `redis+cluster://host:port,host:port` for a Cluster.
      // Refuses to open against a Redis that would lose acknowledged writes (durability.ts).
      return RedisStore.open({
        target: parseRedisUrl(storage.url), clock, onError,
        ...(storage.prefix === undefined ? {} : { prefix: storage.prefix }),
        ...(storage.durability === undefined ? {} : { durability: storage.durability }),
        ...(storage.retentionDays === undefined ? {} : { finalRetentionMs: Math.round(storage.retentionDays * 86_400_000) }),
        ...(memberId === undefined ? {} : { wakeOrigin: memberId }),
      });
  }
}
