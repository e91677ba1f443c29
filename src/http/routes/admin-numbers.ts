/**
 * Admin views of the numbers and tenants (admin token), for the dashboard and the CLI:
 *   GET /admin/numbers                 every number: limits, pacing rate, queue, pause and why, owner
 *   GET /admin/usage                   every tenant's messaging-limit use
 *   GET /admin/tenants/{id}/usage      one tenant's
 *   GET /admin/failures                upstream error answers by code and ingress refusals by reason
 *                                      (this process, since it started: its Prometheus counters)
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { requireAdmin } from '../admin-auth.js';
import type { AdminViews } from '../admin-views.js';
import type { GatewayDeps } from '../deps.js';
import { ADMIN_TOKEN, TenantIdParams, errorResponses } from '../schemas/common.js';

const Pause = Type.Object({
  by: Type.Union([Type.Literal('operator'), Type.Literal('upstream'), Type.Literal('meta')]),
  code: Type.Optional(Type.Integer({ description: 'Graph code of the upstream answer that paused it' })),
  until: Type.Optional(Type.String({ format: 'date-time', description: 'A timed pause ends then' })),
  since: Type.Optional(Type.String({ format: 'date-time' })),
  scope: Type.Union([Type.Literal('number'), Type.Literal('tenant')]),
});

export const NumberViewSchema = Type.Object(
  {
    phone_number_id: Type.String(),
    tenant: Type.String(),
    mps: Type.Number({ description: 'Configured (or overridden) messages per second' }),
    burst: Type.Number(),
    effective_mps: Type.Number({ description: 'Pacing rate now: mps × headroom, lowered after 130429 and recovering' }),
    queue_depth: Type.Integer({ minimum: 0 }),
    oldest_queued_age_sec: Type.Number({ minimum: 0 }),
    in_flight: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null: another process of the fleet dispatches it' }),
    paused: Type.Union([Pause, Type.Null()]),
    sent_total: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
      description: 'Upstream sends answered ok by the answering process since it started; null: another process dispatches it',
    }),
    owner: Type.Optional(Type.Union([Type.String(), Type.Null()], { description: 'Fleet member holding the number\'s lease' })),
  },
  { title: 'NumberView' },
);

const TierUseSchema = Type.Object(
  {
    tenant: Type.String(),
    used: Type.Integer({ minimum: 0, description: 'Unique recipients of business-initiated sends in the moving 24 h' }),
    limit: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('unlimited')]),
    free: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], { description: 'null when unlimited' }),
  },
  { title: 'TierUse' },
);

const Failures = Type.Object({
  since: Type.String({ format: 'date-time', description: 'This process started counting then' }),
  upstream: Type.Array(Type.Object({ code: Type.Integer(), outcome: Type.String(), count: Type.Integer({ minimum: 0 }) })),
  refused: Type.Array(Type.Object({ reason: Type.String(), count: Type.Integer({ minimum: 0 }) })),
});

export async function adminNumberRoutes(app: FastifyInstance, opts: { deps: GatewayDeps; views: AdminViews; token: string }): Promise<void> {
  const { deps, views } = opts;
  const startedAt = new Date(deps.clock.nowMs()).toISOString();
  app.addHook('onRequest', requireAdmin(opts.token));
  const tags = ['admin'];

  app.get('/admin/numbers', {
    schema: { tags, summary: 'Every number\'s live state', security: ADMIN_TOKEN, response: { 200: Type.Array(NumberViewSchema), ...errorResponses(403, 503) } },
  }, async () => views.numbers());

  const usageOf = async (tenantId: string) => {
    const use = await views.tierUse(tenantId);
    if (use === undefined) throw new GatewayError('NOT_FOUND', `Unknown tenant ${tenantId}`);
    return { tenant: tenantId, used: use.used, limit: use.limit, free: use.limit === 'unlimited' ? null : Math.max(0, use.limit - use.used) };
  };
  app.get('/admin/usage', {
    schema: { tags, summary: 'Every tenant\'s messaging-limit use', security: ADMIN_TOKEN, response: { 200: Type.Array(TierUseSchema), ...errorResponses(403, 503) } },
  }, async () => {
    const ids = [...new Set([...deps.tenants.numbers()].map((n) => n.tenant.id))].sort();
    return Promise.all(ids.map(usageOf));
  });
  app.get<{ Params: { id: string } }>('/admin/tenants/:id/usage', {
    schema: { tags, summary: 'A tenant\'s messaging-limit use', security: ADMIN_TOKEN, params: TenantIdParams, response: { 200: TierUseSchema, ...errorResponses(403, 404, 503) } },
  }, async (request) => usageOf(request.params.id));

  app.get('/admin/failures', {
    schema: { tags, summary: 'Upstream errors by code and refusals by reason, this process', security: ADMIN_TOKEN, response: { 200: Failures, ...errorResponses(403) } },
  }, async () => {
    const sends = await deps.metrics.upstreamSends.get();
    const refused = await deps.metrics.rejected.get();
    return {
      since: startedAt,
      upstream: sends.values.filter((v) => v.labels.outcome !== 'ok' && v.value > 0)
        .map((v) => ({ code: Number(v.labels.code), outcome: String(v.labels.outcome), count: v.value }))
        .sort((a, b) => b.count - a.count),
      refused: refused.values.filter((v) => v.value > 0).map((v) => ({ reason: String(v.labels.reason), count: v.value })).sort((a, b) => b.count - a.count),
    };
  });
}
