/**
 * Builds the gateway's Fastify app from injected dependencies. Never listens (server.ts does),
 * so tests can drive it with inject() or listen on port 0 themselves.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { ControlPort } from './gateway/ports.js';
import type { GatewayDeps } from './http/deps.js';
import { installErrorHandling } from './http/error-handler.js';
import { adminRoutes } from './http/routes/admin.js';
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
}

function requestIds(): () => string {
  const prefix = randomBytes(9).toString('base64url');
  let n = 0;
  return () => `${prefix}${(n++).toString(36)}`;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { deps } = options;
  const app = Fastify({
    logger: options.logger ?? loggerOptions(deps.config.log.level),
    bodyLimit: deps.config.limits.maxBodyBytes,
    // fbtrace_id-like request ids, also the id in every error envelope: a random per-process prefix
    // and a counter (randomBytes per request cost ~4 % of ingress CPU in a profile).
    genReqId: requestIds(),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    return503OnClosing: true,
    logController: new LogController({ disableRequestLogging: true }),
  });
  // JSON only: a text/plain body is a client error, not a string to guess at.
  app.removeContentTypeParser(['text/plain']);
  installErrorHandling(app, (code) => deps.metrics.rejected.inc({ reason: code }));
  await app.register(healthRoutes, deps);
  await app.register(sendRoutes, deps);
  await app.register(statusRoutes, deps);
  await app.register(adminRoutes, { deps, control: options.control });
  for (const plugin of options.plugins ?? []) await app.register(plugin);
  return app;
}
