/**
 * Broadcasts' progress for operators (admin token), every tenant's:
 *   GET /admin/broadcasts?state=&tenant=&limit=&cursor=   → {data, next}
 *
 * Newest first; `next` is the cursor of the following page (null on the last). Each entry carries
 * the counts by recipient state, how many wait for the messaging limit, the recipients stored
 * (the sendable ones: the plan's exclusions never get a message) and the ETA; in a fleet, every
 * process answers the same list (read from Redis).
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { BROADCAST_ID_PATTERN } from '../../broadcasts/ids.js';
import type { BroadcastListQuery } from '../../broadcasts/store.js';
import type { BroadcastState } from '../../broadcasts/types.js';
import { GatewayError } from '../../errors.js';
import { requireAdmin } from '../admin-auth.js';
import { ADMIN_TOKEN, errorResponses } from '../schemas/common.js';

const MAX_LIMIT = 200;

/** What the route reads (server.ts: the broadcast service's list; null before it runs). */
export type BroadcastLister = (query: BroadcastListQuery) => Promise<{ data: object[]; next: string | null } | null>;

const STATES = ['scheduled', 'running', 'completed', 'cancelled'] as const;

const ListQuery = Type.Object({
  state: Type.Optional(Type.Union(STATES.map((s) => Type.Literal(s)), { description: 'Only broadcasts in this state' })),
  tenant: Type.Optional(Type.String({ minLength: 1 })),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 20 }),
  cursor: Type.Optional(Type.String({ description: 'The previous page\'s `next`' })),
});

const Counts = Type.Object({
  pending: Type.Integer({ description: 'Not yet admitted, not waiting for the messaging limit' }),
  waiting_for_limit: Type.Integer({ description: 'Not yet admitted: the tenant\'s messaging limit is full' }),
  queued: Type.Integer(), sent: Type.Integer(), failed: Type.Integer(), expired: Type.Integer(),
  rejected: Type.Integer(), cancelled: Type.Integer(),
});

export const AdminBroadcastSchema = Type.Object({
  id: Type.String(),
  tenant: Type.String(),
  phone_number_id: Type.String(),
  state: Type.Union(STATES.map((s) => Type.Literal(s))),
  category: Type.String(),
  created_at: Type.String({ description: 'RFC 3339' }),
  ended_at: Type.Union([Type.String({ description: 'RFC 3339' }), Type.Null()]),
  recipients: Type.Integer({ description: 'Recipients the broadcast sends to (the plan\'s exclusions left out)' }),
  counts: Counts,
  waiting_for_limit: Type.Integer({ description: 'The same as counts.waiting_for_limit' }),
  eta_seconds: Type.Integer({ description: 'Until the last recipient is sent, at the number\'s pace now; 0 once ended' }),
  finish_at: Type.String({ description: 'RFC 3339' }),
}, { title: 'AdminBroadcast' });

const Page = Type.Object({
  data: Type.Array(AdminBroadcastSchema),
  next: Type.Union([Type.String(), Type.Null()], { description: 'Cursor of the next page; null on the last' }),
}, { title: 'AdminBroadcastPage' });

export async function adminBroadcastRoutes(app: FastifyInstance, opts: { token: string; list: BroadcastLister | undefined }): Promise<void> {
  app.addHook('onRequest', requireAdmin(opts.token));

  app.get<{ Querystring: { state?: BroadcastState; tenant?: string; limit: number; cursor?: string } }>('/admin/broadcasts', {
    schema: {
      tags: ['admin'], summary: 'Broadcasts and their progress, newest first', security: ADMIN_TOKEN, querystring: ListQuery,
      response: { 200: Page, ...errorResponses(400, 403, 503) },
    },
  }, async (request) => {
    const q = request.query;
    // The cursor is a broadcast id (they sort by creation time).
    if (q.cursor !== undefined && !BROADCAST_ID_PATTERN.test(q.cursor)) throw new GatewayError('INVALID_PARAMETER', 'cursor is not one this API handed out');
    const query: BroadcastListQuery = {
      limit: q.limit,
      ...(q.state === undefined ? {} : { state: q.state }),
      ...(q.tenant === undefined ? {} : { tenantId: q.tenant }),
      ...(q.cursor === undefined ? {} : { before: q.cursor }),
    };
    let page: Awaited<ReturnType<BroadcastLister>>;
    try {
      page = (await opts.list?.(query)) ?? null;
    } catch {
      throw new GatewayError('STORAGE_UNAVAILABLE', 'The broadcast store could not be read; retry later', 1);
    }
    return page ?? { data: [], next: null };
  });
}
