/**
 * Per-tenant policy settings, resolved once from config (work at config time, not per send):
 * defaults applied, opt-out words compiled, the link allowlist built, seconds turned into ms.
 */
import type { Config, NumberConfig, TenantConfig } from '../config/schema.js';
import { compileOptOutWords, DEFAULT_OPT_OUT_SET } from '../webhooks/opt-out.js';
import { LinkAllowlist } from './links.js';
import type { WarmupSchedule } from './warmup.js';

export interface TenantPolicy {
  readonly id: string;
  readonly shadow: boolean;
  readonly serviceWindow: boolean;
  readonly optIn: 'off' | 'warn' | 'enforce';
  readonly optOutWords: ReadonlySet<string>;
  readonly repeat: { readonly maxRecipients: number; readonly windowMs: number } | undefined;
  readonly links: LinkAllowlist | undefined;
  readonly warmup: WarmupSchedule;
  readonly undeliverableMs: number;
  readonly marketingDeferralMs: number;
  /** Live: the business_capability_update webhook changes it through setMessagingLimit. */
  messagingLimit: number | 'unlimited';
}

export interface NumberPolicy {
  readonly tenant: TenantPolicy;
  readonly number: NumberConfig;
}

export function resolveTenantPolicy(tenant: TenantConfig, config: Pick<Config, 'webhooks'>): TenantPolicy {
  const p = tenant.policy;
  return {
    id: tenant.id,
    shadow: p.mode === 'shadow',
    // Without Meta webhooks no inbound message is ever seen, so enforcing would refuse every reply.
    serviceWindow: (p.serviceWindow ?? (config.webhooks !== undefined ? 'enforce' : 'off')) === 'enforce',
    optIn: p.optIn,
    optOutWords: p.optOutWords === undefined ? DEFAULT_OPT_OUT_SET : compileOptOutWords(p.optOutWords),
    repeat: p.repeat === undefined ? undefined : { maxRecipients: p.repeat.maxRecipients, windowMs: p.repeat.windowSec * 1000 },
    links: p.links === undefined ? undefined : new LinkAllowlist(p.links.allowedDomains),
    warmup: p.warmup,
    undeliverableMs: p.undeliverableSec * 1000,
    marketingDeferralMs: p.marketingDeferralSec * 1000,
    messagingLimit: tenant.messagingLimit,
  };
}

/** Tenants by id and numbers by phone number id, for the engine's lookups. */
export function resolvePolicies(config: Pick<Config, 'tenants' | 'webhooks'>): {
  tenants: Map<string, TenantPolicy>;
  numbers: Map<string, NumberPolicy>;
} {
  const tenants = new Map<string, TenantPolicy>();
  const numbers = new Map<string, NumberPolicy>();
  for (const t of config.tenants) {
    const tenant = resolveTenantPolicy(t, config);
    tenants.set(t.id, tenant);
    for (const number of t.numbers) {
      // The schema checks the shape; a date like 2026-02-31 passes it and would silently disable warm-up.
      if (number.createdAt !== undefined && !Number.isFinite(Date.parse(number.createdAt))) {
        throw new RangeError(`tenant ${t.id}, number ${number.phoneNumberId}: createdAt '${number.createdAt}' is not a valid date`);
      }
      numbers.set(number.phoneNumberId, { tenant, number });
    }
  }
  return { tenants, numbers };
}
