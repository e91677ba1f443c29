/**
 * The operators' routes: /metrics, /admin/*, /dashboard, /docs and /openapi.json. On the main
 * listener (app.ts) unless `ops.listen` gives them their own (ops-app.ts). The admin routes exist
 * only when `admin.token` is configured.
 */
import type { FastifyInstance } from 'fastify';
import type { ControlPort } from '../gateway/ports.js';
import type { AdminViews } from './admin-views.js';
import type { GatewayDeps } from './deps.js';
import { docsRoutes } from './openapi.js';
import { adminRoutes } from './routes/admin.js';
import type { TenantAdminOptions } from './routes/admin-tenants.js';
import { adminBroadcastRoutes } from './routes/admin-broadcasts.js';
import { adminMessageRoutes } from './routes/admin-messages.js';
import { adminNumberRoutes } from './routes/admin-numbers.js';
import { adminWebhookRoutes } from './routes/admin-webhooks.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { metricsRoute } from './routes/metrics.js';

export interface OpsRouteOptions {
  deps: GatewayDeps;
  control: ControlPort;
  /** What the admin views read (server.ts); absent: only the control and message routes. */
  views?: AdminViews;
  /** Runtime management of tenants and keys; absent: those routes are not offered. */
  tenantAdmin?: TenantAdminOptions | undefined;
}

export async function opsRoutes(app: FastifyInstance, options: OpsRouteOptions): Promise<void> {
  const { deps, control, views } = options;
  await app.register(metricsRoute, deps);
  await app.register(adminRoutes, { deps, control, tenantAdmin: options.tenantAdmin });
  const token = deps.config.admin?.token;
  if (token !== undefined) {
    await app.register(adminMessageRoutes, { deps, token });
    await app.register(adminBroadcastRoutes, { token, list: views?.broadcasts });
    if (views !== undefined) {
      await app.register(adminNumberRoutes, { deps, views, token });
      await app.register(adminWebhookRoutes, { deps, views, token });
    }
  }
  await app.register(dashboardRoutes);
  await app.register(docsRoutes);
}
