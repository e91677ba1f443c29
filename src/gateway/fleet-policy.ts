/**
 * The policy engine of a fleet member: consent, windows, deferrals, first sends and the shared
 * budgets (messaging limit, repeated content) in Redis, on the store's connection, with this
 * process's WASM core in front as a cache of what is already known (src/policy/shared-engine.ts).
 */
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Core } from '../core/index.js';
import { createSharedPolicyEngine, openRedisPolicyStore, type SharedPolicyEngine } from '../policy/shared-engine.js';
import type { RedisStore } from '../store/redis/redis-store.js';

export interface FleetPolicyDeps {
  config: Readonly<Config>;
  core: Core;
  clock: Clock;
  store: RedisStore;
  onError?: (err: unknown, what: string) => void;
}

export function openFleetPolicy(deps: FleetPolicyDeps): Promise<SharedPolicyEngine> {
  const { client, keys } = deps.store;
  const durability = deps.config.storage.kind === 'redis' ? deps.config.storage.durability : undefined;
  return createSharedPolicyEngine({
    config: deps.config, core: deps.core, clock: deps.clock, client, keys,
    store: openRedisPolicyStore({ client, keys, config: deps.config, replicas: typeof durability === 'object' ? durability : null }),
    ...(deps.onError !== undefined ? { onError: deps.onError } : {}),
  });
}
