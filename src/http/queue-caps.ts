/**
 * Queue caps: a number (limits.maxQueuedPerNumber) or a tenant (limits.maxQueuedPerTenant) holding
 * its cap of waiting messages refuses more with 429 QUEUE_FULL, nothing stored. Retry-After is how
 * long the configured rate takes to bring the queue back under the cap.
 */
import type { Config, NumberConfig, TenantConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { DispatchPort } from '../gateway/ports.js';

export function checkQueueCaps(
  limits: Pick<Config['limits'], 'maxQueuedPerNumber' | 'maxQueuedPerTenant'>,
  dispatch: Pick<DispatchPort, 'queued'>,
  tenant: TenantConfig,
  number: NumberConfig,
): void {
  const onNumber = dispatch.queued(number.phoneNumberId);
  if (onNumber >= limits.maxQueuedPerNumber) {
    const excess = onNumber - limits.maxQueuedPerNumber + 1;
    throw new GatewayError('QUEUE_FULL',
      `Phone number id ${number.phoneNumberId} has ${onNumber} messages waiting (cap ${limits.maxQueuedPerNumber}); nothing was stored, retry later`,
      excess / number.mps);
  }
  let onTenant = 0;
  let tenantMps = 0;
  for (const n of tenant.numbers) {
    onTenant += dispatch.queued(n.phoneNumberId);
    tenantMps += n.mps;
  }
  if (onTenant >= limits.maxQueuedPerTenant) {
    const excess = onTenant - limits.maxQueuedPerTenant + 1;
    throw new GatewayError('QUEUE_FULL',
      `Tenant ${tenant.id} has ${onTenant} messages waiting (cap ${limits.maxQueuedPerTenant}); nothing was stored, retry later`,
      excess / tenantMps);
  }
}
