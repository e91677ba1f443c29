/**
 * Runtime management of tenants, API keys and Meta tokens (admin token; registered under the
 * admin routes' hook). Changes are stored (embedded or Redis) and applied on every process before
 * the answer (src/gateway/catalog). Answers never carry a Meta token, webhook secret or stored key.
 *
 *   GET    /admin/tenants                          {"data":[tenant…]}
 *   POST   /admin/tenants                          a config tenant (apiKeys optional) → 201 tenant
 *   GET    /admin/tenants/{id}                     tenant
 *   PATCH  /admin/tenants/{id}                     fields to replace → tenant
 *   DELETE /admin/tenants/{id}                     {"id","deleted":true}
 *   POST   /admin/tenants/{id}/api-keys            → 201 {"id","key"} (the key is shown this once)
 *   DELETE /admin/tenants/{id}/api-keys/{keyId}    refused from then on, on every process
 *   PUT    /admin/numbers/{id}/access-token        {"accessToken"} → also resumes a tenant a 190 paused
 */
import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { TenantCatalog } from '../../gateway/catalog/catalog.js';
import {
  createTenant, deleteTenant, issueKey, replaceAccessToken, requireTenant, revokeKey, tenantView, updateTenant,
} from '../../gateway/catalog/admin-ops.js';
import {
  AccessTokenBodySchema, DeletedTenantSchema, IssuedKeySchema, KeyParams, NewTenantSchema, NumberIdParams, RevokedKeySchema,
  TenantIdParams, TenantListSchema, TenantPatchSchema, TenantViewSchema, TokenReplacedSchema, type NewTenant, type TenantPatch,
} from '../schemas/admin-tenants.js';
import { typeboxValidatorCompiler } from '../typebox-validator.js';

export interface TenantAdminOptions {
  catalog: TenantCatalog;
  /** A number got a new token: resume its tenant if an upstream 190 paused it; true when it did. */
  resumeAfterNewToken(tenantId: string): Promise<boolean>;
}

export async function adminTenantRoutes(app: FastifyInstance, opts: TenantAdminOptions): Promise<void> {
  const { catalog } = opts;
  app.setValidatorCompiler(typeboxValidatorCompiler);

  app.get('/admin/tenants', { schema: { response: { 200: TenantListSchema } } }, async () => {
    const c = await catalog.read();
    return { data: [...c.tenants.values()].sort((a, b) => a.tenant.id.localeCompare(b.tenant.id)).map((t) => tenantView(c, t)) };
  });

  app.post<{ Body: NewTenant }>('/admin/tenants', { schema: { body: NewTenantSchema, response: { 201: TenantViewSchema } } }, async (request, reply) => {
    const view = await catalog.change((c, nowMs) => createTenant(c, request.body, nowMs));
    return reply.code(201).send(view);
  });

  app.get<{ Params: Static<typeof TenantIdParams> }>('/admin/tenants/:id', { schema: { params: TenantIdParams, response: { 200: TenantViewSchema } } }, async (request) => {
    const c = await catalog.read();
    return tenantView(c, requireTenant(c, request.params.id));
  });

  app.patch<{ Params: Static<typeof TenantIdParams>; Body: TenantPatch }>('/admin/tenants/:id', {
    schema: { params: TenantIdParams, body: TenantPatchSchema, response: { 200: TenantViewSchema } },
  }, async (request) => catalog.change((c, nowMs) => updateTenant(c, request.params.id, request.body, nowMs)));

  app.delete<{ Params: Static<typeof TenantIdParams> }>('/admin/tenants/:id', {
    schema: { params: TenantIdParams, response: { 200: DeletedTenantSchema } },
  }, async (request) => catalog.change((c, nowMs) => deleteTenant(c, request.params.id, nowMs)));

  app.post<{ Params: Static<typeof TenantIdParams> }>('/admin/tenants/:id/api-keys', {
    schema: { params: TenantIdParams, response: { 201: IssuedKeySchema } },
  }, async (request, reply) => {
    const issued = await catalog.change((c, nowMs) => issueKey(c, request.params.id, nowMs));
    return reply.code(201).header('cache-control', 'no-store').send(issued);
  });

  app.delete<{ Params: Static<typeof KeyParams> }>('/admin/tenants/:id/api-keys/:keyId', {
    schema: { params: KeyParams, response: { 200: RevokedKeySchema } },
  }, async (request) => catalog.change((c, nowMs) => revokeKey(c, request.params.id, request.params.keyId, nowMs)));

  app.put<{ Params: Static<typeof NumberIdParams>; Body: Static<typeof AccessTokenBodySchema> }>('/admin/numbers/:id/access-token', {
    schema: { params: NumberIdParams, body: AccessTokenBodySchema, response: { 200: TokenReplacedSchema } },
  }, async (request) => {
    const id = request.params.id;
    const { tenant } = await catalog.change((c, nowMs) => replaceAccessToken(c, id, request.body.accessToken, nowMs));
    return { phone_number_id: id, tenant, resumed: await opts.resumeAfterNewToken(tenant) };
  });
}
