/** Liveness, readiness and Prometheus metrics. Unauthenticated by design: bind them to a private interface. */
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';

export async function healthRoutes(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = { storage: deps.store.healthy(), core: deps.coreLoaded() };
    const ready = checks.storage && checks.core;
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', checks });
  });
  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}
