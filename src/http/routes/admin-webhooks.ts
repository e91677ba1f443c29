/**
 * Tenant-webhook dead letters (admin token): events whose retries ran out, kept in the outbox.
 *   GET  /admin/tenants/{id}/webhooks/dead?after=&limit=   → {data, next}  (by seq; `next` is the next `after`)
 *   POST /admin/tenants/{id}/webhooks/dead/replay          → {replayed}   every dead event pending again
 * Replay after the tenant fixed its endpoint: each event goes again with its own event id (receivers
 * dedupe on it), after what is already queued, from the start of the retry schedule.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { requireAdmin } from '../admin-auth.js';
import type { AdminViews } from '../admin-views.js';
import type { GatewayDeps } from '../deps.js';
import { ADMIN_TOKEN, TenantIdParams, errorResponses } from '../schemas/common.js';

const MAX_LIMIT = 500;

const DeadLetter = Type.Object({
  seq: Type.Integer(),
  event_id: Type.String(),
  order_key: Type.String({ description: 'Events of one key (a recipient) are delivered in order' }),
  created_at: Type.String({ format: 'date-time' }),
  attempts: Type.Integer({ minimum: 0 }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  body: Type.Unknown({ description: 'The event as it would be delivered' }),
}, { title: 'DeadLetter' });

export async function adminWebhookRoutes(app: FastifyInstance, opts: { deps: GatewayDeps; views: AdminViews; token: string }): Promise<void> {
  const { deps, views } = opts;
  app.addHook('onRequest', requireAdmin(opts.token));
  const tags = ['admin'];
  const knownTenant = (id: string): string => {
    if (deps.tenants.tenant(id) === undefined) throw new GatewayError('NOT_FOUND', `Unknown tenant ${id}`);
    return id;
  };

  app.get<{ Params: { id: string }; Querystring: { after: number; limit: number } }>('/admin/tenants/:id/webhooks/dead', {
    schema: {
      tags, summary: 'A tenant\'s dead webhook events', security: ADMIN_TOKEN, params: TenantIdParams,
      querystring: Type.Object({
        after: Type.Integer({ minimum: 0, default: 0, description: 'Only events after this seq (the previous page\'s `next`)' }),
        limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 50 }),
      }),
      response: {
        200: Type.Object({ data: Type.Array(DeadLetter), next: Type.Union([Type.Integer(), Type.Null()]) }),
        ...errorResponses(400, 403, 404, 503),
      },
    },
  }, async (request) => {
    const tenantId = knownTenant(request.params.id);
    const { after, limit } = request.query;
    const entries = await unavailableOnFailure(() => views.deadLetters(tenantId, after, limit));
    return {
      data: entries.map((e) => ({
        seq: e.seq, event_id: e.eventId, order_key: e.orderKey, created_at: new Date(e.createdAtMs).toISOString(),
        attempts: e.attempts, last_error: e.lastError, body: parseBody(e.body),
      })),
      next: entries.length < limit ? null : entries[entries.length - 1]!.seq,
    };
  });

  app.post<{ Params: { id: string } }>('/admin/tenants/:id/webhooks/dead/replay', {
    schema: {
      tags, summary: 'Deliver a tenant\'s dead webhook events again', security: ADMIN_TOKEN, params: TenantIdParams,
      response: { 200: Type.Object({ tenant: Type.String(), replayed: Type.Integer({ minimum: 0 }) }), ...errorResponses(403, 404, 503) },
    },
  }, async (request) => {
    const tenantId = knownTenant(request.params.id);
    const replayed = await unavailableOnFailure(() => views.replayDead(tenantId));
    request.log.info({ tenant: tenantId, replayed }, 'dead tenant webhooks replayed by an operator');
    return { tenant: tenantId, replayed };
  });
}

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

async function unavailableOnFailure<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch {
    throw new GatewayError('STORAGE_UNAVAILABLE', 'The webhook outbox could not be read or written; retry later', 1);
  }
}
