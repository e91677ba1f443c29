/**
 * The tenant catalog: tenants, their API keys and tombstones, as the store keeps them (embedded
 * SQLite or Redis, one row per entry in four tables) and as every process rebuilds its view from.
 *
 *   tenants  id      → StoredTenant JSON  (a config tenant without `apiKeys`, with who last set it)
 *   gone     id      → ms                 (deleted through the admin API: the config never re-seeds it)
 *   keys     keyId   → StoredKey JSON     (a SHA-256 digest, never the key itself)
 *   revoked  digest  → ms                 (a revoked key stays refused even while the config lists it)
 *
 * Who wins: a tenant seeded from the config file (source `config`) follows the file at every boot;
 * once the admin API created, changed or deleted it (source `admin`, or a tombstone), the store does.
 * Every change bumps one version counter, so a process knows whether its view is current.
 */
import { hash, randomBytes } from 'node:crypto';
import type { TenantConfig } from '../../config/schema.js';

export type TenantSource = 'config' | 'admin';

/** A tenant as the catalog keeps it: a config tenant without its API keys (kept apart, hashed). */
export type TenantRecord = Omit<TenantConfig, 'apiKeys'>;

export interface StoredTenant {
  tenant: TenantRecord;
  source: TenantSource;
  updatedMs: number;
}

export interface StoredKey {
  id: string;
  tenantId: string;
  /** Hex SHA-256 of the key. */
  digest: string;
  source: TenantSource;
  createdMs: number;
}

export type CatalogTable = 'tenants' | 'gone' | 'keys' | 'revoked';
export const CATALOG_TABLES: readonly CatalogTable[] = ['tenants', 'gone', 'keys', 'revoked'];

/** One row written (`value`) or deleted (`null`). */
export interface CatalogOp {
  table: CatalogTable;
  field: string;
  value: string | null;
}

/** The rows as a backend reads them. */
export interface CatalogRows {
  version: number;
  tables: Record<CatalogTable, Map<string, string>>;
}

/** A tenant with the digests of its live keys: what the registry, the dispatcher and the policies run on. */
export interface EffectiveTenants {
  tenants: TenantConfig[];
  keys: Array<{ digest: string; tenantId: string }>;
}

export function keyDigest(key: string): string {
  return hash('sha256', key, 'hex');
}

/** A config key's id: derived from its digest, so every process seeding the same file agrees on it. */
export function configKeyId(digest: string): string {
  return `ck_${hash('sha256', `sendgate-key-id:${digest}`, 'hex').slice(0, 16)}`;
}

/** A new API key and its id: 256 random bits, shown once. */
export function newApiKey(): { id: string; key: string } {
  return { id: `key_${randomBytes(9).toString('base64url')}`, key: `sg_${randomBytes(32).toString('base64url')}` };
}

/** The decoded catalog at one version. */
export class Catalog {
  readonly tenants = new Map<string, StoredTenant>();
  readonly gone = new Map<string, number>();
  readonly keys = new Map<string, StoredKey>();
  readonly revoked = new Map<string, number>();

  constructor(readonly version: number) {}

  static decode(rows: CatalogRows): Catalog {
    const c = new Catalog(rows.version);
    for (const [id, json] of rows.tables.tenants) c.tenants.set(id, JSON.parse(json) as StoredTenant);
    for (const [id, ms] of rows.tables.gone) c.gone.set(id, Number(ms));
    for (const [id, json] of rows.tables.keys) c.keys.set(id, JSON.parse(json) as StoredKey);
    for (const [digest, ms] of rows.tables.revoked) c.revoked.set(digest, Number(ms));
    return c;
  }

  keysOf(tenantId: string): StoredKey[] {
    return [...this.keys.values()].filter((k) => k.tenantId === tenantId).sort((a, b) => a.createdMs - b.createdMs || a.id.localeCompare(b.id));
  }

  keyByDigest(digest: string): StoredKey | undefined {
    for (const k of this.keys.values()) if (k.digest === digest) return k;
    return undefined;
  }

  /** The tenant owning a number, if any. */
  ownerOfNumber(phoneNumberId: string): StoredTenant | undefined {
    for (const t of this.tenants.values()) if (t.tenant.numbers.some((n) => n.phoneNumberId === phoneNumberId)) return t;
    return undefined;
  }

  effective(): EffectiveTenants {
    const tenants = [...this.tenants.values()].map((t) => ({ ...t.tenant, apiKeys: [] as string[] }));
    const keys = [...this.keys.values()].filter((k) => this.tenants.has(k.tenantId) && !this.revoked.has(k.digest))
      .map((k) => ({ digest: k.digest, tenantId: k.tenantId }));
    return { tenants, keys };
  }
}

export const putTenant = (t: StoredTenant): CatalogOp => ({ table: 'tenants', field: t.tenant.id, value: JSON.stringify(t) });
export const putKey = (k: StoredKey): CatalogOp => ({ table: 'keys', field: k.id, value: JSON.stringify(k) });
export const deleteRow = (table: CatalogTable, field: string): CatalogOp => ({ table, field, value: null });

/** A config tenant as the catalog keeps it. */
export function recordOf(tenant: TenantConfig): TenantRecord {
  const { apiKeys: _keys, ...record } = tenant;
  return record;
}

/**
 * What booting with `config` changes in the catalog: config tenants never touched through the
 * admin API are written as the file has them (and removed when the file no longer has them), with
 * their keys; tenants the admin API created, changed or deleted are left as they are, and a
 * revoked key stays revoked.
 */
export function seedOps(c: Catalog, config: readonly TenantConfig[], nowMs: number): CatalogOp[] {
  const ops: CatalogOp[] = [];
  const inFile = new Map(config.map((t) => [t.id, t]));
  const fileDigests = new Set<string>();
  for (const t of config) {
    if (c.gone.has(t.id)) continue;
    const stored = c.tenants.get(t.id);
    if (stored === undefined || (stored.source === 'config' && JSON.stringify(stored.tenant) !== JSON.stringify(recordOf(t)))) {
      ops.push(putTenant({ tenant: recordOf(t), source: 'config', updatedMs: nowMs }));
    }
    for (const key of t.apiKeys) {
      const digest = keyDigest(key);
      fileDigests.add(digest);
      if (c.revoked.has(digest) || c.keyByDigest(digest) !== undefined) continue;
      ops.push(putKey({ id: configKeyId(digest), tenantId: t.id, digest, source: 'config', createdMs: nowMs }));
    }
  }
  for (const stored of c.tenants.values()) {
    if (stored.source !== 'config' || inFile.has(stored.tenant.id)) continue;
    ops.push(deleteRow('tenants', stored.tenant.id));
    for (const k of c.keysOf(stored.tenant.id)) ops.push(deleteRow('keys', k.id));
  }
  for (const k of c.keys.values()) {
    if (k.source === 'config' && !fileDigests.has(k.digest) && inFile.has(k.tenantId)) ops.push(deleteRow('keys', k.id));
  }
  return ops;
}
