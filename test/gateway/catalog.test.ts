/**
 * The tenant catalog: who wins between the config file and the admin API (seedOps), and the two
 * backends (embedded SQLite, Redis against a real redis-server) passing one conformance suite:
 * rows written and deleted atomically, the version bumped once per change, a stale writer refused
 * (compare and set), and another process told of a change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import type { TenantConfig } from '../../src/config/schema.js';
import type { CatalogBackend } from '../../src/gateway/catalog/backend.js';
import { Catalog, configKeyId, keyDigest, seedOps, type CatalogOp } from '../../src/gateway/catalog/model.js';
import { RedisCatalogBackend } from '../../src/gateway/catalog/redis-backend.js';
import { SqliteCatalogBackend } from '../../src/gateway/catalog/sqlite-backend.js';
import { parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisStore } from '../../src/store/redis/redis-store.js';
import { systemClock } from '../../src/clock.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const tenantsOf = (tenants: unknown[]): TenantConfig[] => [...parseConfig({ tenants }, 'test').tenants];
const acme = (mps = 80) => ({ id: 'acme', apiKeys: ['key-acme-seed-1'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-a', mps }] });
const beta = { id: 'beta', apiKeys: ['key-beta-seed-1'], numbers: [{ phoneNumberId: '2002', accessToken: 'EAAG-b' }] };

/** Applies ops to an in-memory catalog (what a backend does), for the seeding rules alone. */
function applied(c: Catalog, ops: readonly CatalogOp[]): Catalog {
  const rows = { version: c.version + 1, tables: { tenants: new Map<string, string>(), gone: new Map<string, string>(), keys: new Map<string, string>(), revoked: new Map<string, string>() } };
  for (const [id, t] of c.tenants) rows.tables.tenants.set(id, JSON.stringify(t));
  for (const [id, ms] of c.gone) rows.tables.gone.set(id, String(ms));
  for (const [id, k] of c.keys) rows.tables.keys.set(id, JSON.stringify(k));
  for (const [d, ms] of c.revoked) rows.tables.revoked.set(d, String(ms));
  for (const op of ops) {
    if (op.value === null) rows.tables[op.table].delete(op.field);
    else rows.tables[op.table].set(op.field, op.value);
  }
  return Catalog.decode(rows);
}

describe('seeding from the config file', () => {
  it('seeds once, follows the file for untouched tenants, and never undoes what the admin API did', () => {
    let c = applied(new Catalog(0), seedOps(new Catalog(0), tenantsOf([acme(), beta]), 1000));
    expect([...c.tenants.keys()].sort()).toEqual(['acme', 'beta']);
    expect(c.keys.get(configKeyId(keyDigest('key-acme-seed-1')))).toMatchObject({ tenantId: 'acme', source: 'config' });
    expect(JSON.stringify([...c.keys.values()])).not.toContain('key-acme-seed-1');
    expect(seedOps(c, tenantsOf([acme(), beta]), 2000)).toEqual([]); // the same file changes nothing

    // The file changes an untouched tenant: it follows.
    c = applied(c, seedOps(c, tenantsOf([acme(40), beta]), 3000));
    expect(c.tenants.get('acme')!.tenant.numbers[0]!.mps).toBe(40);

    // The admin API changed acme, deleted beta and revoked acme's config key: the file no longer wins.
    const stored = c.tenants.get('acme')!;
    c = applied(c, [
      { table: 'tenants', field: 'acme', value: JSON.stringify({ ...stored, source: 'admin', tenant: { ...stored.tenant, deadlineSec: 60 } }) },
      { table: 'tenants', field: 'beta', value: null }, { table: 'gone', field: 'beta', value: '4000' },
      { table: 'keys', field: configKeyId(keyDigest('key-beta-seed-1')), value: null },
      { table: 'keys', field: configKeyId(keyDigest('key-acme-seed-1')), value: null }, { table: 'revoked', field: keyDigest('key-acme-seed-1'), value: '4000' },
    ]);
    expect(seedOps(c, tenantsOf([acme(20), beta]), 5000)).toEqual([]);

    // A tenant the file drops is removed only if the admin API never touched it.
    const gamma = { id: 'gamma', apiKeys: ['key-gamma-seed-1'], numbers: [{ phoneNumberId: '3003', accessToken: 'EAAG-c' }] };
    c = applied(c, seedOps(c, tenantsOf([acme(), gamma]), 6000));
    expect([...c.tenants.keys()].sort()).toEqual(['acme', 'gamma']);
    c = applied(c, seedOps(c, tenantsOf([acme()]), 7000));
    expect([...c.tenants.keys()]).toEqual(['acme']);
    expect([...c.keys.values()].some((k) => k.tenantId === 'gamma')).toBe(false);
    expect(c.effective().keys).toEqual([]); // acme's only key was revoked
  });
});

function describeBackend(name: string, open: () => Promise<{ a: CatalogBackend; b: CatalogBackend; close(): Promise<void> }>): void {
  describe(`catalog backend: ${name}`, () => {
    let pair: Awaited<ReturnType<typeof open>>;
    beforeAll(async () => {
      pair = await open();
    });
    afterAll(async () => {
      await pair?.close();
    });

    it('writes and deletes rows atomically with one version bump; a stale writer is refused', async () => {
      const { a, b } = pair;
      expect((await a.load()).version).toBe(0);
      const v1 = await a.commit(0, [{ table: 'tenants', field: 't1', value: '{"x":1}' }, { table: 'revoked', field: 'd1', value: '5' }]);
      expect(v1).toBe(1);
      expect(await b.commit(0, [{ table: 'tenants', field: 't2', value: '{}' }])).toBeNull();
      const v2 = await b.commit(1, [{ table: 'tenants', field: 't1', value: null }, { table: 'gone', field: 't1', value: '9' }]);
      expect(v2).toBe(2);
      const rows = await a.load();
      expect(rows.version).toBe(2);
      expect([...rows.tables.tenants]).toEqual([]);
      expect([...rows.tables.gone]).toEqual([['t1', '9']]);
      expect([...rows.tables.revoked]).toEqual([['d1', '5']]);
      expect(await a.version()).toBe(2);
      expect(await a.commit(2, [])).toBe(2); // nothing to write: no new version
    });

    it('tells the other process of a change, and waits until the live processes applied it', async () => {
      const { a, b } = pair;
      let heard = 0;
      const stop = await b.subscribe(() => heard++);
      try {
        const before = heard;
        const v = await a.commit(await a.version(), [{ table: 'keys', field: 'k1', value: '{}' }]);
        if (name === 'redis') await expect.poll(() => heard).toBeGreaterThan(before);
        await a.acknowledge(v!);
        await b.acknowledge(v!);
        expect(await a.waitApplied(v!, 2000)).toBe(true);
      } finally {
        stop();
      }
    });
  });
}

describeBackend('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-catalog-'));
  const a = new SqliteCatalogBackend(dir);
  const b = new SqliteCatalogBackend(dir); // a second connection to the same file
  return { a, b, close: async () => { a.close(); b.close(); rmSync(dir, { recursive: true, force: true }); } };
});

let redis: RedisServer | undefined;
describeBackend('redis', async () => {
  redis = await startRedis();
  const prefix = `cat-${randomBytes(4).toString('hex')}`;
  const storeA = await RedisStore.open({ target: parseRedisUrl(redis.url), clock: systemClock, prefix });
  const storeB = await RedisStore.open({ target: parseRedisUrl(redis.url), clock: systemClock, prefix });
  const a = new RedisCatalogBackend(storeA, 'member-a');
  const b = new RedisCatalogBackend(storeB, 'member-b');
  return {
    a, b,
    close: async () => {
      await storeA.close();
      await storeB.close();
      await redis?.stop();
    },
  };
});
