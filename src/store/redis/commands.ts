/**
 * The store's Lua scripts, read once from `commands/<name>-<numberOfKeys>.lua` and registered with
 * ioredis `defineCommand` (EVALSHA, falling back to EVAL once after a server restart empties the
 * script cache). The build copies the .lua files next to the compiled module (package.json).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Script names (file names without `-<numberOfKeys>.lua`). */
export type ScriptName = 'enqueue' | 'transition' | 'requeue' | 'queue-page' | 'idempotent' | 'lease-acquire' | 'lease-renew' | 'lease-release' | 'members' | 'owed-claim'
  // Webhooks (src/webhooks/redis.ts)
  | 'outbox-append' | 'outbox-page' | 'outbox-settle' | 'outbox-requeue' | 'unmatched-park' | 'unmatched-update' | 'unmatched-remove' | 'unmatched-read'
  // Policy state (src/policy/redis-store.ts, redis-budgets.ts)
  | 'budget' | 'consent' | 'deferral'
  // Tenant catalog (src/gateway/catalog/redis-backend.ts)
  | 'catalog-commit'
  // Broadcasts (src/broadcasts/redis-store.ts)
  | 'broadcast-create' | 'broadcast-created' | 'broadcast-chunk' | 'broadcast-ends' | 'broadcast-state';

const COMMANDS_DIR = new URL('./commands/', import.meta.url);
const FILE = /^([a-z-]+)-(\d+)\.lua$/;

/**
 * Calls one script by name, on the client or queued on a pipeline (`via`); keys checked against
 * the file's key count.
 */
export type ScriptRunner = (name: ScriptName, keys: readonly string[], args: readonly string[], via?: ChainableCommander) => Promise<unknown>;

/** The method name ioredis gets for a script: `sg` + camel case (never clashes with a Redis command). */
function methodName(name: string): string {
  return `sg${name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase())}`;
}

export function defineScripts(client: RedisClient): ScriptRunner {
  const keyCounts = new Map<string, number>();
  for (const file of readdirSync(COMMANDS_DIR)) {
    const match = FILE.exec(file);
    if (match === null) continue;
    const [, name, keys] = match as unknown as [string, string, string];
    const numberOfKeys = Number(keys);
    client.defineCommand(methodName(name), { numberOfKeys, lua: readFileSync(new URL(file, COMMANDS_DIR), 'utf8') });
    keyCounts.set(name, numberOfKeys);
  }
  return (name, keys, args, via) => {
    const expected = keyCounts.get(name);
    if (expected !== keys.length) {
      return Promise.reject(new Error(`script ${name}: ${keys.length} keys given, ${expected ?? 'no script'} expected`));
    }
    const target = via ?? client;
    const method = (target as unknown as Record<string, (...a: string[]) => Promise<unknown>>)[methodName(name)]!;
    return method.call(target, ...keys, ...args);
  };
}
