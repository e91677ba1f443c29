import type { FastifyRequest } from 'fastify';
import type { TenantConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import { bearerToken, type NumberEntry, type TenantRegistry } from '../gateway/tenants.js';

/** The tenant behind the request's bearer API key; 401 otherwise. */
export function requireTenant(tenants: TenantRegistry, request: FastifyRequest): TenantConfig {
  const token = bearerToken(request.headers.authorization);
  const tenant = token === undefined ? undefined : tenants.authenticate(token);
  if (tenant === undefined) throw new GatewayError('UNAUTHORIZED', 'Missing or invalid API key: send Authorization: Bearer <tenant API key>');
  return tenant;
}

/**
 * The number, which must exist and belong to the tenant: 404 either way, with the same answer, so
 * a tenant cannot learn which phone number ids other tenants of the gateway own.
 */
export function requireOwnNumber(tenants: TenantRegistry, tenant: TenantConfig, phoneNumberId: string): NumberEntry {
  const entry = tenants.number(phoneNumberId);
  if (entry === undefined || entry.tenant.id !== tenant.id) throw new GatewayError('UNKNOWN_NUMBER', `Unknown phone number id ${phoneNumberId}`);
  return entry;
}
