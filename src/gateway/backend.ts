/**
 * The one place that picks the backend of every durable seam, from `storage.kind`:
 * - embedded: SQLite files under `storage.path` (messages and control state in the store's worker
 *   thread, the tenant catalog, the policy state, the webhook outbox and dedupe marks, broadcasts);
 * - redis: one connection shared by the message store, the catalog, the policy state, the
 *   webhooks and broadcasts; a fleet of processes on it, each a member with its own id.
 *
 * The store is opened here; the seams that need what is built after it (the core, the catalog's
 * tenants) are opened by `policy` and `webhooks` when components.ts is ready for them, in that order.
 */
import { join } from 'node:path';
import { RedisBroadcastStore } from '../broadcasts/redis-store.js';
import { SqliteBroadcastStore } from '../broadcasts/sqlite-store.js';
import type { BroadcastStore } from '../broadcasts/store.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { Core } from '../core/index.js';
import { newMemberId } from '../fleet/member.js';
import { createPolicyEngine, openPolicyStore, POLICY_DB_FILE, type PolicyEngine } from '../policy/index.js';
import { openStore } from '../store/index.js';
import { RedisStore } from '../store/redis/redis-store.js';
import type { Store } from '../store/types.js';
import { openEmbeddedWebhooks, type EmbeddedWebhooksOptions, type Webhooks } from '../webhooks/index.js';
import { openRedisWebhooks } from '../webhooks/redis.js';
import type { CatalogBackend } from './catalog/backend.js';
import { RedisCatalogBackend } from './catalog/redis-backend.js';
import { SqliteCatalogBackend } from './catalog/sqlite-backend.js';
import { openFleetPolicy } from './fleet-policy.js';

/** What every webhook backend takes (the embedded one also its directory, given here). */
export type WebhookSeamOptions = Omit<EmbeddedWebhooksOptions, 'storagePath'>;

export interface Backend {
  readonly kind: 'embedded' | 'redis';
  store: Store;
  /** In a fleet (Redis): this process's member id; null when embedded. */
  memberId: string | null;
  /** Where runtime tenants and keys are kept, and how often other processes' changes are polled (0: never). */
  catalog: { backend: CatalogBackend; pollMs: number };
  /** The policy state's backend, replaying into `core` (its first calls: the core never moves time backwards). */
  policy(core: Core, running: Readonly<Config>): Promise<PolicyEngine>;
  webhooks(options: WebhookSeamOptions): Promise<Webhooks>;
  /** Where broadcasts are kept (opened when the broadcast service starts; it closes it). */
  broadcasts(): BroadcastStore;
  /** A number moved to another tenant at run time: what the store keeps under the old one is let go (Redis). */
  numberMoved?(phoneNumberId: string): unknown;
}

export async function openBackend(config: Readonly<Config>, clock: Clock, onError?: (err: unknown, what: string) => void): Promise<Backend> {
  const errors = onError !== undefined ? { onError } : {};
  // In a fleet each process is a member with its own id (leases, notices, webhook delivery).
  const memberId = config.storage.kind === 'redis' ? newMemberId() : null;
  const store = await openStore(config.storage, clock, onError, memberId ?? undefined);
  if (store instanceof RedisStore) {
    const storage = config.storage as Extract<Config['storage'], { kind: 'redis' }>;
    return {
      kind: 'redis', store, memberId,
      catalog: { backend: new RedisCatalogBackend(store, memberId!), pollMs: 2000 },
      numberMoved: (id) => store.forgetNumber(id),
      policy: (core, running) => openFleetPolicy({ config: running, core, clock, store, ...errors }),
      webhooks: (options) => openRedisWebhooks({
        ...options, client: store.client, keys: store.keys, ownerId: memberId!,
        ...(storage.durability !== undefined ? { durability: storage.durability } : {}),
        ...(storage.leaseTtlMs !== undefined ? { leaseTtlMs: storage.leaseTtlMs } : {}),
      }),
      broadcasts: () => new RedisBroadcastStore(store, clock),
    };
  }
  const dataDir = config.storage.kind === 'embedded' ? config.storage.path : '';
  return {
    kind: 'embedded', store, memberId,
    catalog: { backend: new SqliteCatalogBackend(dataDir), pollMs: 0 },
    policy: async (core, running) => createPolicyEngine({ config: running, core, clock, store: openPolicyStore(join(dataDir, POLICY_DB_FILE), { onError }) }),
    webhooks: (options) => openEmbeddedWebhooks({ ...options, storagePath: dataDir }),
    broadcasts: () => new SqliteBroadcastStore(dataDir),
  };
}
