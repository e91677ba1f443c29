/**
 * The operators' listener (config `ops.listen`): /metrics, /admin/*, /dashboard, /docs and
 * /openapi.json on an address of their own (e.g. a private interface), and off the main listener.
 * Same logger, error envelope and request ids as the main app; its OpenAPI document lists the main
 * listener's routes too. Never listens (server.ts does).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { prepareApp, serverOptions } from '../app.js';
import type { ControlPort } from '../gateway/ports.js';
import type { AdminViews } from './admin-views.js';
import type { GatewayDeps } from './deps.js';
import { opsRoutes } from './ops-routes.js';
import type { TenantAdminOptions } from './routes/admin-tenants.js';

export interface OpsAppOptions {
  /** The main listener's app: its logger, and its routes in the document. */
  main: FastifyInstance;
  deps: GatewayDeps;
  control: ControlPort;
  views?: AdminViews;
  tenantAdmin?: TenantAdminOptions | undefined;
}

export async function buildOpsApp(options: OpsAppOptions): Promise<FastifyInstance> {
  const { main, deps } = options;
  const app = Fastify({ ...serverOptions(deps), loggerInstance: main.log as FastifyBaseLogger });
  await prepareApp(app, deps, { alsoDocument: () => main.swagger() });
  await app.register(opsRoutes, { deps, control: options.control, tenantAdmin: options.tenantAdmin, ...(options.views === undefined ? {} : { views: options.views }) });
  return app;
}
