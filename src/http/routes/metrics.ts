/** GET /metrics: Prometheus text. Unauthenticated by design: an ops route (ops.listen puts it on a private address). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { GatewayDeps } from '../deps.js';

export async function metricsRoute(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.get('/metrics', {
    schema: {
      tags: ['ops'], summary: 'Prometheus metrics',
      response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: Type.String() } } } },
    },
  }, async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });
}
