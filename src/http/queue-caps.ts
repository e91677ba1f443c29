/**
 * Queue caps: a number (limits.maxQueuedPerNumber) or a tenant (limits.maxQueuedPerTenant) holding
 * its cap of waiting messages refuses more with 429 QUEUE_FULL, nothing stored. Retry-After is how
 * long the configured rate takes to bring the queue back under the cap.
 *
 * A tenant's total is summed over its numbers at most every TENANT_SUM_MS and counted up by each
 * send admitted meanwhile: summing 1,000 numbers on every send was 23 % of the send route's CPU
 * (bench/macro/ingress, 1,000 numbers, --cpu-prof). The cap bounds a backlog of millions; a total
 * up to 100 ms old moves it by a few hundred messages at most.
 */
import type { Config, NumberConfig, TenantConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { DispatchPort } from '../gateway/ports.js';

const TENANT_SUM_MS = 100;

interface TenantTotal { total: number; mps: number; atMs: number }
/** Per dispatch port (one per gateway), per tenant: bounded by the tenants. */
const totalsOf = new WeakMap<object, Map<string, TenantTotal>>();

export function checkQueueCaps(
  limits: Pick<Config['limits'], 'maxQueuedPerNumber' | 'maxQueuedPerTenant'>,
  dispatch: Pick<DispatchPort, 'queued'>,
  tenant: TenantConfig,
  number: NumberConfig,
  nowMs: number,
): void {
  const onNumber = dispatch.queued(number.phoneNumberId);
  if (onNumber >= limits.maxQueuedPerNumber) {
    const excess = onNumber - limits.maxQueuedPerNumber + 1;
    throw new GatewayError('QUEUE_FULL',
      `Phone number id ${number.phoneNumberId} has ${onNumber} messages waiting (cap ${limits.maxQueuedPerNumber}); nothing was stored, retry later`,
      excess / number.mps);
  }
  let totals = totalsOf.get(dispatch);
  if (totals === undefined) totalsOf.set(dispatch, totals = new Map<string, TenantTotal>());
  let t = totals.get(tenant.id);
  if (t === undefined || nowMs - t.atMs >= TENANT_SUM_MS || nowMs < t.atMs) {
    t = { total: 0, mps: 0, atMs: nowMs };
    for (const n of tenant.numbers) {
      t.total += dispatch.queued(n.phoneNumberId);
      t.mps += n.mps;
    }
    totals.set(tenant.id, t);
  }
  if (t.total >= limits.maxQueuedPerTenant) {
    const excess = t.total - limits.maxQueuedPerTenant + 1;
    throw new GatewayError('QUEUE_FULL',
      `Tenant ${tenant.id} has ${t.total} messages waiting (cap ${limits.maxQueuedPerTenant}); nothing was stored, retry later`,
      excess / t.mps);
  }
  t.total++; // this send, admitted unless a later check refuses it
}
