/**
 * The tenant catalog of a fleet, in Redis (keys: src/store/redis/keys.ts, slot {tc}): a change is
 * one script that checks the version, writes the rows, bumps the version and publishes it
 * (catalog-commit-5.lua), written with the deployment's durability. Every process hears the
 * publication on a connection of its own and reads the catalog again; pub/sub may drop a notice
 * while reconnecting, so the caller also polls the version (catalog.ts).
 */
import { randomBytes } from 'node:crypto';
import { subscriberOf } from '../../store/redis/connection.js';
import type { RedisStore } from '../../store/redis/redis-store.js';
import type { CatalogBackend } from './backend.js';
import { CATALOG_TABLES, type CatalogOp, type CatalogRows, type CatalogTable } from './model.js';

export class RedisCatalogBackend implements CatalogBackend {
  private readonly origin = randomBytes(8).toString('hex');
  private readonly tableKeys: string[];

  constructor(private readonly store: RedisStore, private readonly memberId: string) {
    this.tableKeys = CATALOG_TABLES.map((t) => store.keys.catalogTable(t));
  }

  async load(): Promise<CatalogRows> {
    // One transaction: the four tables and the version as of one instant.
    const tx = this.store.client.multi();
    for (const key of this.tableKeys) tx.hgetall(key);
    tx.get(this.store.keys.catalogVersion());
    const replies = (await tx.exec()) ?? [];
    const values: unknown[] = replies.map(([err, reply]) => {
      if (err !== null) throw err;
      return reply;
    });
    const tables = {} as Record<CatalogTable, Map<string, string>>;
    CATALOG_TABLES.forEach((t, i) => (tables[t] = new Map(Object.entries(values[i] as Record<string, string>))));
    return { version: Number(values[4] ?? 0), tables };
  }

  async version(): Promise<number> {
    return Number((await this.store.client.get(this.store.keys.catalogVersion())) ?? 0);
  }

  async commit(expectedVersion: number, ops: readonly CatalogOp[]): Promise<number | null> {
    const args = [String(expectedVersion), this.store.keys.catalogChannel(), this.origin];
    for (const op of ops) {
      const index = CATALOG_TABLES.indexOf(op.table) + 1;
      args.push(op.value === null ? String(-index) : String(index), op.field, op.value ?? '');
    }
    const reply = Number(await this.store.writes.script('catalog-commit', [...this.tableKeys, this.store.keys.catalogVersion()], args));
    return reply < 0 ? null : reply;
  }

  async subscribe(onChange: () => void): Promise<() => void> {
    const subscriber = subscriberOf(this.store.client);
    const channel = this.store.keys.catalogChannel();
    subscriber.on('error', () => {}); // reconnects are reported by the main connection
    subscriber.on('message', (ch: string, text: string) => {
      if (ch === channel && !text.startsWith(`${this.origin}\n`)) onChange();
    });
    // A reconnect may have missed notices: read again.
    subscriber.on('ready', onChange);
    await subscriber.subscribe(channel);
    return () => subscriber.disconnect();
  }

  async acknowledge(version: number): Promise<void> {
    await this.store.client.hset(this.store.keys.catalogApplied(), this.memberId, String(version));
  }

  async waitApplied(version: number, timeoutMs: number): Promise<boolean> {
    const client = this.store.client;
    const endMs = Date.now() + timeoutMs;
    for (;;) {
      const [seconds, micros] = await client.time();
      const live = await client.zrangebyscore(this.store.keys.members(), Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), '+inf');
      const applied = await client.hgetall(this.store.keys.catalogApplied());
      const stale = Object.keys(applied).filter((m) => !live.includes(m) && m !== this.memberId);
      if (stale.length > 0) await client.hdel(this.store.keys.catalogApplied(), ...stale);
      if (live.every((m) => Number(applied[m] ?? 0) >= version)) return true;
      if (Date.now() >= endMs) return false;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void {}
}
