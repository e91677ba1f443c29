/**
 * Builds the gateway's Fastify app from injected dependencies. Never listens (server.ts does),
 * so tests can drive it with inject() or listen on port 0 themselves.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ControlPort } from './gateway/ports.js';
import type { TenantAdminOptions } from './http/routes/admin-tenants.js';
import type { AdminViews } from './http/admin-views.js';
import type { GatewayDeps } from './http/deps.js';
import { installErrorHandling } from './http/error-handler.js';
import { registerOpenApi } from './http/openapi.js';
import { opsRoutes } from './http/ops-routes.js';
import { healthRoutes } from './http/routes/health.js';
import { sendRoutes } from './http/routes/send.js';
import { statusRoutes } from './http/routes/status.js';
import { loggerOptions } from './observability/logger.js';

export interface AppOptions {
  deps: GatewayDeps;
  control: ControlPort;
  /** Extra route plugins (webhooks, policy APIs), registered after the core routes. */
  plugins?: Array<(app: FastifyInstance) => Promise<void>>;
  logger?: FastifyServerOptions['logger'];
  /** Runtime management of tenants and keys (admin API); absent: those routes are not offered. */
  tenantAdmin?: TenantAdminOptions;
  /**
   * The operators' routes (/metrics, /admin/*, /dashboard, /docs, /openapi.json): here (default;
   * `views` feeds the admin views), or `false` when `ops.listen` gives them a listener of their
   * own (src/http/ops-app.ts).
   */
  ops?: { views?: AdminViews } | false;
}

/**
 * Request loggers without pino's child(): one prototype per app whose level methods add the
 * request id; per request just `Object.create(proto)` with the id. Only lines actually written
 * pay for the extra field.
 */
function requestLoggers(): (logger: FastifyBaseLogger, reqId: string) => FastifyBaseLogger {
  const protos = new WeakMap<FastifyBaseLogger, object>();
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
  const protoOf = (logger: FastifyBaseLogger): object => {
    let proto = protos.get(logger);
    if (proto === undefined) {
      proto = Object.create(logger) as object;
      for (const level of levels) {
        Object.defineProperty(proto, level, {
          value(this: { reqId: string }, obj: unknown, ...rest: unknown[]) {
            const fields = obj !== null && typeof obj === 'object' ? { reqId: this.reqId, ...obj } : { reqId: this.reqId, msg: obj };
            (logger[level] as (o: object, ...r: unknown[]) => void)(fields, ...rest);
          },
        });
      }
      protos.set(logger, proto);
    }
    return proto;
  };
  return (logger, reqId) => Object.assign(Object.create(protoOf(logger)) as FastifyBaseLogger, { reqId });
}

function requestIds(): () => string {
  const prefix = randomBytes(9).toString('base64url');
  let n = 0;
  return () => `${prefix}${(n++).toString(36)}`;
}

function requestLoggerFactory(): (logger: FastifyBaseLogger, bindings: { reqId?: unknown }) => FastifyBaseLogger {
  const make = requestLoggers();
  return (logger, bindings) => (bindings.reqId === undefined ? logger : make(logger, String(bindings.reqId)));
}

/** Fastify options every listener of a gateway shares (the main one and the ops one). */
export function serverOptions(deps: GatewayDeps): FastifyServerOptions {
  return {
    bodyLimit: deps.config.limits.maxBodyBytes,
    // fbtrace_id-like request ids, also the id in every error envelope: a random per-process prefix
    // and a counter (randomBytes per request cost ~4 % of ingress CPU in a profile).
    genReqId: requestIds(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    // Access logs (config log.access) cost ingress CPU: off unless asked for.
    logController: new LogController({ disableRequestLogging: !(deps.config.log.access ?? false) }),
    // Requests log through the app's logger with their id as a field: a child logger per request
    // ran pino's redaction over its bindings every time (~2 % of ingress CPU in a profile).
    childLoggerFactory: requestLoggerFactory(),
  };
}

/**
 * What every listener does before its routes: plain JSON.stringify for replies (response schemas
 * document, they never reshape an answer), the OpenAPI generator first (it sees every route
 * registered after it), and the one error handler.
 */
export async function prepareApp(app: FastifyInstance, deps: GatewayDeps, openApi: Parameters<typeof registerOpenApi>[1] = {}): Promise<void> {
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON only: a text/plain body is a client error, not a string to guess at.
  app.removeContentTypeParser(['text/plain']);
  await registerOpenApi(app, openApi);
  installErrorHandling(app, (code) => deps.metrics.rejected.inc({ reason: code }));
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { deps } = options;
  const app = Fastify({ ...serverOptions(deps), logger: options.logger ?? loggerOptions(deps.config.log.level) });
  await prepareApp(app, deps);
  await app.register(healthRoutes, deps);
  await app.register(sendRoutes, deps);
  await app.register(statusRoutes, deps);
  if (options.ops !== false) {
    await app.register(opsRoutes, {
      deps, control: options.control, tenantAdmin: options.tenantAdmin,
      ...(options.ops?.views === undefined ? {} : { views: options.ops.views }),
    });
  }
  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}
