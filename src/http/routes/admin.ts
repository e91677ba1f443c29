/**
 * Admin API, enabled only when `admin.token` is configured. Changes apply to the next decision.
 *   PUT  /admin/numbers/{id}/limits   {"mps"?, "burst"?, "headroom"?}
 *   POST /admin/numbers/{id}/pause | /resume
 *   POST /admin/tenants/{id}/pause | /resume      (every number of the tenant)
 * and the runtime management of tenants, API keys and Meta tokens (admin-tenants.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import type { ControlPort, LimitChange } from '../../gateway/ports.js';
import { bearerToken } from '../../gateway/tenants.js';
import type { GatewayDeps } from '../deps.js';
import { adminTenantRoutes, type TenantAdminOptions } from './admin-tenants.js';

export async function adminRoutes(app: FastifyInstance, opts: { deps: GatewayDeps; control: ControlPort; tenantAdmin?: TenantAdminOptions | undefined }): Promise<void> {
  const { deps, control } = opts;
  const token = deps.config.admin?.token;
  if (token === undefined) return;
  const expected = digest(token);
  app.addHook('onRequest', async (request: FastifyRequest) => {
    const given = bearerToken(request.headers.authorization);
    if (given === undefined || !timingSafeEqual(digest(given), expected)) {
      throw new GatewayError('ADMIN_FORBIDDEN', 'Admin routes need Authorization: Bearer <admin token>');
    }
  });
  // Runtime tenants, keys and tokens (admin-tenants.ts), behind the same token check.
  if (opts.tenantAdmin !== undefined) await app.register(adminTenantRoutes, opts.tenantAdmin);
  const known = (id: string): string => {
    if (deps.tenants.number(id) === undefined) throw new GatewayError('UNKNOWN_NUMBER', `Unknown phone number id ${id}`);
    return id;
  };
  app.put<{ Params: { id: string }; Body: unknown }>('/admin/numbers/:id/limits', async (request) => {
    const id = known(request.params.id);
    const change = parseLimitChange(request.body);
    control.setLimits(id, change);
    return { phone_number_id: id, applied: change };
  });
  app.post<{ Params: { id: string } }>('/admin/numbers/:id/pause', async (request) => {
    control.pause(known(request.params.id));
    return { phone_number_id: request.params.id, paused: true };
  });
  app.post<{ Params: { id: string } }>('/admin/numbers/:id/resume', async (request) => {
    control.resume(known(request.params.id));
    return { phone_number_id: request.params.id, paused: false };
  });
  const knownTenant = (id: string): string => {
    if (deps.tenants.tenant(id) === undefined) throw new GatewayError('NOT_FOUND', `Unknown tenant ${id}`);
    return id;
  };
  app.post<{ Params: { id: string } }>('/admin/tenants/:id/pause', async (request) => {
    control.pauseTenant(knownTenant(request.params.id));
    return { tenant: request.params.id, paused: true };
  });
  app.post<{ Params: { id: string } }>('/admin/tenants/:id/resume', async (request) => {
    control.resumeTenant(knownTenant(request.params.id));
    return { tenant: request.params.id, paused: false };
  });
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
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
