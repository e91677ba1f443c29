import type { Clock } from '../clock.js';
import type { Config } from '../config/schema.js';
import type { DispatchPort, PolicyPort } from '../gateway/ports.js';
import type { TenantRegistry } from '../gateway/tenants.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { Store } from '../store/types.js';

/** Everything the HTTP layer needs, injected by the caller of buildApp (server.ts or a test). */
export interface GatewayDeps {
  config: Readonly<Config>;
  tenants: TenantRegistry;
  store: Store;
  dispatch: DispatchPort;
  /** Policy admission (src/policy); `allowAll` when policies are not wired. */
  policy: PolicyPort;
  clock: Clock;
  metrics: GatewayMetrics;
  /** True once the core is loaded and the store open. */
  coreLoaded: () => boolean;
  /** Notes sends answered with Meta's wamid (`Prefer: wait`), for tenant webhooks in Meta's format. Absent: not noted. */
  wamidAnswers?: { noteWamidAnswered(tenantId: string, gatewayId: string): Promise<void> };
  /** Learned wa_ids (src/gateway/recipient-aliases.ts): sends are keyed by the recipient's wa_id. */
  recipients?: { resolve(digits: string): string };
  /** Templates' categories from Meta (src/gateway/template-categories.ts), for sends without X-Sendgate-Category. */
  templates?: { categoryOf(tenantId: string, name: string, language: string | undefined): string | undefined };
}
