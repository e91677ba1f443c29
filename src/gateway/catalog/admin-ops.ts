/**
 * The admin API's changes to the tenant catalog, as plans for TenantCatalog.change(): each reads
 * the stored catalog, refuses with a catalogued error (and then writes nothing), or answers rows to
 * write and what to reply. Whatever the admin API touches becomes source `admin`: from then on the
 * store, not the config file, holds that tenant.
 */
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { GatewayError } from '../../errors.js';
import { TenantRecordSchema, type NewTenant, type TenantPatch, type TenantView } from '../../http/schemas/admin-tenants.js';
import type { Change } from './catalog.js';
import {
  deleteRow, keyDigest, newApiKey, putKey, putTenant, type Catalog, type CatalogOp, type StoredKey, type StoredTenant, type TenantRecord,
} from './model.js';

const recordCheck = TypeCompiler.Compile(TenantRecordSchema);

/** A tenant as answered (no token, secret or key). */
export function tenantView(c: Catalog, stored: StoredTenant): TenantView {
  const t = stored.tenant;
  return {
    id: t.id,
    source: stored.source,
    updatedAt: new Date(stored.updatedMs).toISOString(),
    ...(t.wabaIds !== undefined ? { wabaIds: [...t.wabaIds] } : {}),
    messagingLimit: t.messagingLimit,
    deadlineSec: t.deadlineSec,
    policy: structuredClone(t.policy) as Record<string, unknown>,
    ...(t.webhook !== undefined ? { webhook: { url: t.webhook.url } } : {}),
    numbers: t.numbers.map(({ accessToken: _token, ...n }) => n),
    apiKeys: c.keysOf(t.id).filter((k) => !c.revoked.has(k.digest)).map((k) => ({ id: k.id, source: k.source, createdAt: new Date(k.createdMs).toISOString() })),
  };
}

export function requireTenant(c: Catalog, id: string): StoredTenant {
  const stored = c.tenants.get(id);
  if (stored === undefined) throw new GatewayError('NOT_FOUND', `Unknown tenant ${id}`);
  return stored;
}

/** Defaults applied and the whole record checked, then what one schema cannot say (uniqueness, dates). */
function checked(c: Catalog, input: unknown, selfId: string): TenantRecord {
  const record = Value.Default(TenantRecordSchema, structuredClone(input)) as TenantRecord;
  const error = recordCheck.Errors(record).First();
  if (error !== undefined) throw new GatewayError('INVALID_PARAMETER', `body${error.path}: ${error.message}`);
  const seen = new Set<string>();
  record.numbers.forEach((n, i) => {
    if (seen.has(n.phoneNumberId)) throw new GatewayError('INVALID_PARAMETER', `body/numbers/${i}/phoneNumberId: number ${n.phoneNumberId} listed twice`);
    seen.add(n.phoneNumberId);
    if (n.createdAt !== undefined && !isRealDate(n.createdAt)) {
      throw new GatewayError('INVALID_PARAMETER', `body/numbers/${i}/createdAt: '${n.createdAt}' is not a valid date`);
    }
    const owner = c.ownerOfNumber(n.phoneNumberId);
    if (owner !== undefined && owner.tenant.id !== selfId) throw new GatewayError('ALREADY_EXISTS', `Number ${n.phoneNumberId} already belongs to tenant '${owner.tenant.id}'`);
  });
  for (const wabaId of record.wabaIds ?? []) {
    for (const other of c.tenants.values()) {
      if (other.tenant.id !== selfId && other.tenant.wabaIds?.includes(wabaId)) throw new GatewayError('ALREADY_EXISTS', `WABA ${wabaId} already belongs to tenant '${other.tenant.id}'`);
    }
  }
  return record;
}

export function createTenant(c: Catalog, input: NewTenant, nowMs: number): Change<TenantView> {
  if (c.tenants.has(input.id)) throw new GatewayError('ALREADY_EXISTS', `Tenant ${input.id} already exists`);
  const { apiKeys = [], ...rest } = input;
  const stored: StoredTenant = { tenant: checked(c, rest, input.id), source: 'admin', updatedMs: nowMs };
  const ops: CatalogOp[] = [putTenant(stored), deleteRow('gone', input.id)];
  const keys: StoredKey[] = [];
  for (const key of new Set(apiKeys)) {
    const digest = keyDigest(key);
    if (c.keyByDigest(digest) !== undefined || c.revoked.has(digest)) throw new GatewayError('ALREADY_EXISTS', 'One of the API keys is already in use (or was revoked): issue keys with POST /admin/tenants/{id}/api-keys');
    keys.push({ id: newApiKey().id, tenantId: input.id, digest, source: 'admin', createdMs: nowMs });
  }
  ops.push(...keys.map(putKey));
  // Keys left behind by a tenant of the same id that was deleted are gone with it (deleteTenant).
  return { ops, result: viewAfter(c, stored, keys) };
}

export function updateTenant(c: Catalog, id: string, patch: TenantPatch, nowMs: number): Change<TenantView> {
  const current = requireTenant(c, id).tenant;
  const next: Record<string, unknown> = structuredClone(current) as unknown as Record<string, unknown>;
  for (const field of ['wabaIds', 'messagingLimit', 'deadlineSec', 'policy'] as const) {
    if (patch[field] !== undefined) next[field] = structuredClone(patch[field]);
  }
  if (patch.webhook === null) delete next.webhook;
  else if (patch.webhook !== undefined) {
    const secret = patch.webhook.secret ?? current.webhook?.secret;
    if (secret === undefined) throw new GatewayError('INVALID_PARAMETER', 'body/webhook/secret: required (the tenant has no webhook yet)');
    next.webhook = { url: patch.webhook.url, secret };
  }
  if (patch.numbers !== undefined) {
    next.numbers = patch.numbers.map((n, i) => {
      const had = current.numbers.find((x) => x.phoneNumberId === n.phoneNumberId);
      if (had === undefined && n.accessToken === undefined) {
        throw new GatewayError('INVALID_PARAMETER', `body/numbers/${i}/accessToken: required for a number the tenant does not have yet`);
      }
      return { ...(had ?? {}), ...n };
    });
  }
  const stored: StoredTenant = { tenant: checked(c, next, id), source: 'admin', updatedMs: nowMs };
  return { ops: [putTenant(stored)], result: viewAfter(c, stored, []) };
}

export function deleteTenant(c: Catalog, id: string, nowMs: number): Change<{ id: string; deleted: true }> {
  requireTenant(c, id);
  const ops = [deleteRow('tenants', id), { table: 'gone' as const, field: id, value: String(nowMs) }];
  for (const k of c.keysOf(id)) ops.push(deleteRow('keys', k.id));
  return { ops, result: { id, deleted: true } };
}

export function issueKey(c: Catalog, tenantId: string, nowMs: number): Change<{ id: string; key: string }> {
  requireTenant(c, tenantId);
  const { id, key } = newApiKey();
  return { ops: [putKey({ id, tenantId, digest: keyDigest(key), source: 'admin', createdMs: nowMs })], result: { id, key } };
}

export function revokeKey(c: Catalog, tenantId: string, keyId: string, nowMs: number): Change<{ id: string; tenant: string; revoked: true }> {
  requireTenant(c, tenantId);
  const key = c.keys.get(keyId);
  if (key === undefined || key.tenantId !== tenantId) throw new GatewayError('NOT_FOUND', `Tenant ${tenantId} has no API key ${keyId}`);
  // The digest is remembered: a key also listed in the config file stays refused after a restart.
  return {
    ops: [deleteRow('keys', keyId), { table: 'revoked', field: key.digest, value: String(nowMs) }],
    result: { id: keyId, tenant: tenantId, revoked: true },
  };
}

export function replaceAccessToken(c: Catalog, phoneNumberId: string, accessToken: string, nowMs: number): Change<{ tenant: string }> {
  const owner = c.ownerOfNumber(phoneNumberId);
  if (owner === undefined) throw new GatewayError('UNKNOWN_NUMBER', `Unknown phone number id ${phoneNumberId}`);
  const tenant = structuredClone(owner.tenant);
  for (const n of tenant.numbers) if (n.phoneNumberId === phoneNumberId) n.accessToken = accessToken;
  return { ops: [putTenant({ tenant, source: 'admin', updatedMs: nowMs })], result: { tenant: tenant.id } };
}

/** Date.parse takes 2026-02-31 (as 3 March): the calendar day must exist as written. */
function isRealDate(text: string): boolean {
  if (!Number.isFinite(Date.parse(text))) return false;
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  return day.getUTCFullYear() === y && day.getUTCMonth() === m - 1 && day.getUTCDate() === d;
}

/** The view of a tenant as it will be once `ops` are written (its keys: the stored ones plus `added`). */
function viewAfter(c: Catalog, stored: StoredTenant, added: StoredKey[]): TenantView {
  const view = tenantView(c, stored);
  view.apiKeys.push(...added.map((k) => ({ id: k.id, source: k.source, createdAt: new Date(k.createdMs).toISOString() })));
  return view;
}
