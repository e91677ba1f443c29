/**
 * Admin API, enabled only when `admin.token` is configured. Changes apply to the next decision.
 *   PUT  /admin/numbers/{id}/limits   {"mps"?, "burst"?, "headroom"?}
 *   POST /admin/numbers/{id}/pause | /resume
 *   POST /admin/tenants/{id}/pause | /resume      (every number of the tenant)
 * and the runtime management of tenants, API keys and Meta tokens (admin-tenants.ts).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import type { ControlPort, LimitChange } from '../../gateway/ports.js';
import { requireAdmin } from '../admin-auth.js';
import type { GatewayDeps } from '../deps.js';
import { adminTenantRoutes, type TenantAdminOptions } from './admin-tenants.js';
import { ADMIN_TOKEN, NumberIdParams, TenantIdParams, errorResponses, handlerValidates } from '../schemas/common.js';

const LimitsBody = Type.Object({
  mps: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 10_000 })),
  burst: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  headroom: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
}, { additionalProperties: false, minProperties: 1 });
const Paused = (key: 'phone_number_id' | 'tenant') => Type.Object({ [key]: Type.String(), paused: Type.Boolean() });
/** Documented; the handlers check their input themselves (parseLimitChange names the bad field). */
const documented = (schema: object) => ({ schema: { tags: ['admin'], security: ADMIN_TOKEN, ...schema }, validatorCompiler: handlerValidates });

export async function adminRoutes(app: FastifyInstance, opts: { deps: GatewayDeps; control: ControlPort; tenantAdmin?: TenantAdminOptions | undefined }): Promise<void> {
  const { deps, control } = opts;
  const token = deps.config.admin?.token;
  if (token === undefined) return;
  app.addHook('onRequest', requireAdmin(token));
  // Runtime tenants, keys and tokens (admin-tenants.ts), behind the same token check.
  if (opts.tenantAdmin !== undefined) await app.register(adminTenantRoutes, opts.tenantAdmin);
  const known = (id: string): string => {
    if (deps.tenants.number(id) === undefined) throw new GatewayError('UNKNOWN_NUMBER', `Unknown phone number id ${id}`);
    return id;
  };
  app.put<{ Params: { id: string }; Body: unknown }>('/admin/numbers/:id/limits', documented({
    summary: 'Change a number\'s limits (next decision)', params: NumberIdParams, body: LimitsBody,
    response: { 200: Type.Object({ phone_number_id: Type.String(), applied: LimitsBody }), ...errorResponses(400, 403, 404, 415) },
  }), async (request) => {
    const id = known(request.params.id);
    const change = parseLimitChange(request.body);
    control.setLimits(id, change);
    return { phone_number_id: id, applied: change };
  });
  app.post<{ Params: { id: string } }>('/admin/numbers/:id/pause', documented({
    summary: 'Pause a number', params: NumberIdParams, response: { 200: Paused('phone_number_id'), ...errorResponses(403, 404) },
  }), async (request) => {
    control.pause(known(request.params.id));
    return { phone_number_id: request.params.id, paused: true };
  });
  app.post<{ Params: { id: string } }>('/admin/numbers/:id/resume', documented({
    summary: 'Resume a number (also after an upstream pause)', params: NumberIdParams, response: { 200: Paused('phone_number_id'), ...errorResponses(403, 404) },
  }), async (request) => {
    control.resume(known(request.params.id));
    return { phone_number_id: request.params.id, paused: false };
  });
  const knownTenant = (id: string): string => {
    if (deps.tenants.tenant(id) === undefined) throw new GatewayError('NOT_FOUND', `Unknown tenant ${id}`);
    return id;
  };
  app.post<{ Params: { id: string } }>('/admin/tenants/:id/pause', documented({
    summary: 'Pause every number of a tenant', params: TenantIdParams, response: { 200: Paused('tenant'), ...errorResponses(403, 404) },
  }), async (request) => {
    control.pauseTenant(knownTenant(request.params.id));
    return { tenant: request.params.id, paused: true };
  });
  app.post<{ Params: { id: string } }>('/admin/tenants/:id/resume', documented({
    summary: 'Resume a tenant', params: TenantIdParams, response: { 200: Paused('tenant'), ...errorResponses(403, 404) },
  }), async (request) => {
    control.resumeTenant(knownTenant(request.params.id));
    return { tenant: request.params.id, paused: false };
  });
}

function parseLimitChange(body: unknown): LimitChange {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new GatewayError('INVALID_PARAMETER', 'Body must be a JSON object');
  const input = body as Record<string, unknown>;
  const change: LimitChange = {};
  for (const key of Object.keys(input)) {
    if (key !== 'mps' && key !== 'burst' && key !== 'headroom') throw new GatewayError('INVALID_PARAMETER', `Unknown field '${key}': expected mps, burst or headroom`);
  }
  if (input.mps !== undefined) change.mps = positive(input.mps, 'mps', 10_000);
  if (input.burst !== undefined) {
    change.burst = positive(input.burst, 'burst', 10_000);
    if (!Number.isInteger(change.burst)) throw new GatewayError('INVALID_PARAMETER', 'burst must be an integer');
  }
  if (input.headroom !== undefined) change.headroom = positive(input.headroom, 'headroom', 1);
  if (Object.keys(change).length === 0) throw new GatewayError('INVALID_PARAMETER', 'Give at least one of mps, burst, headroom');
  return change;
}

function positive(value: unknown, name: string, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new GatewayError('INVALID_PARAMETER', `${name} must be a number in (0, ${max}]`);
  }
  return value;
}
