/**
 * A 2xx means the send is durable (DESIGN.md). With Redis, either every master writes to disk
 * before it replies (`appendonly yes` + `appendfsync always`: mode 'fsync', the default), or each
 * write is followed by `WAIT` until that many replicas hold it (mode `{ replicas, timeoutMs }`,
 * redis-store.ts); a write the replicas do not confirm in time is answered STORAGE_UNAVAILABLE.
 * Checked at open on every master; the store refuses to open otherwise, unless the operator has
 * opted out explicitly ('unchecked').
 */
import type { Redis } from 'ioredis';

export type RedisDurability = 'fsync' | 'unchecked' | { replicas: number; timeoutMs: number };

export class RedisDurabilityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedisDurabilityError';
  }
}

async function configValue(server: Redis, name: string): Promise<string | null> {
  const reply = (await server.config('GET', name)) as string[];
  return reply[1] ?? null;
}

function describe(server: Redis): string {
  return `${server.options.host ?? '?'}:${server.options.port ?? '?'}`;
}

/** Rejects with a RedisDurabilityError naming the server and the settings it needs. */
export async function checkDurability(servers: readonly Redis[], mode: RedisDurability): Promise<void> {
  if (mode === 'unchecked') return;
  if (mode !== 'fsync') {
    for (const server of servers) await checkReplicas(server, mode.replicas);
    return;
  }
  for (const server of servers) {
    let appendonly: string | null;
    let appendfsync: string | null;
    try {
      appendonly = await configValue(server, 'appendonly');
      appendfsync = await configValue(server, 'appendfsync');
    } catch (error) {
      throw new RedisDurabilityError(
        `Redis at ${describe(server)}: cannot read its persistence settings (CONFIG GET failed: ${(error as Error).message}). ` +
          'sendgate needs `appendonly yes` and `appendfsync always` so that an accepted send survives a Redis crash.',
      );
    }
    if (appendonly !== 'yes' || appendfsync !== 'always') {
      throw new RedisDurabilityError(
        `Redis at ${describe(server)} would lose acknowledged writes in a crash (appendonly ${appendonly ?? 'unknown'}, ` +
          `appendfsync ${appendfsync ?? 'unknown'}). sendgate answers 2xx only for durable sends: set \`appendonly yes\` ` +
          'and `appendfsync always` (redis.conf, or CONFIG SET then CONFIG REWRITE).',
      );
    }
  }
}

async function checkReplicas(server: Redis, replicas: number): Promise<void> {
  const info = await server.info('replication');
  // Only replicas done with their initial sync acknowledge a WAIT.
  const online = info.split('\n').filter((line) => /^slave\d+:.*state=online/.test(line)).length;
  if (online < replicas) {
    throw new RedisDurabilityError(
      `Redis at ${describe(server)} has ${online} online replica(s); durability asks every write to reach ${replicas} ` +
        'before it is acknowledged. Attach the replicas, or use appendonly yes + appendfsync always.',
    );
  }
}
