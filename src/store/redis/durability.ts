/**
 * A 2xx means the send is durable (DESIGN.md): with Redis, the write must be on disk before the
 * script's reply, which only `appendonly yes` with `appendfsync always` guarantees on a single
 * server. Checked at open on every master; the store refuses to open otherwise, unless the
 * operator has opted out explicitly (`durability: 'unchecked'`).
 */
import type { Redis } from 'ioredis';

export type RedisDurability = 'fsync' | 'unchecked';

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
