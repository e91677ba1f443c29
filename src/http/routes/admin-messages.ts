/**
 * Messages that ended unsent, for operators (admin token):
 *   GET  /admin/messages?state=failed|expired&tenant=&number=&limit=&cursor=   → {data, next}
 *   POST /admin/messages/{id}/requeue   {"deadline_sec"?}   back into its number's queue
 *
 * Listing is newest first; `next` is the cursor of the following page (null on the last). A requeue
 * gives the message a fresh deadline (the tenant's deadlineSec unless given) and a fresh attempt
 * budget, and hands it to the dispatcher (in a fleet the number's owner is woken by the store).
 * Its policies were passed at admission and are not charged again; a marketing template is still
 * checked at departure like any other.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { MESSAGE_ID_PATTERN } from '../../gateway/ids.js';
import { isEndedCursor, type EndedState } from '../../store/ended.js';
import type { MessageRecord } from '../../store/types.js';
import { requireAdmin } from '../admin-auth.js';
import type { GatewayDeps } from '../deps.js';
import { ADMIN_TOKEN, errorResponses } from '../schemas/common.js';
import { AdminMessageSchema } from '../schemas/messages.js';
import { statusView } from './status.js';

const MAX_LIMIT = 500;
const MAX_DEADLINE_SEC = 30 * 86_400;

const ListQuery = Type.Object({
  state: Type.Union([Type.Literal('failed'), Type.Literal('expired')], { description: 'Which ended messages' }),
  tenant: Type.Optional(Type.String({ minLength: 1 })),
  number: Type.Optional(Type.String({ minLength: 1, description: 'Phone number id' })),
  limit: Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: 50 }),
  cursor: Type.Optional(Type.String({ description: 'The previous page\'s `next`' })),
});

const Page = Type.Object({
  data: Type.Array(AdminMessageSchema),
  next: Type.Union([Type.String(), Type.Null()], { description: 'Cursor of the next page; null on the last' }),
}, { title: 'AdminMessagePage' });

const RequeueBody = Type.Union([
  Type.Object({
    deadline_sec: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_DEADLINE_SEC, description: 'Validity from now (default: the tenant\'s deadlineSec)' })),
  }, { additionalProperties: false }),
  Type.Null(),
]);

const adminView = (record: MessageRecord): object => ({ ...statusView(record), tenant: record.tenantId });

export async function adminMessageRoutes(app: FastifyInstance, opts: { deps: GatewayDeps; token: string }): Promise<void> {
  const { deps } = opts;
  app.addHook('onRequest', requireAdmin(opts.token));
  const tags = ['admin'];

  app.get<{ Querystring: { state: EndedState; tenant?: string; number?: string; limit: number; cursor?: string } }>('/admin/messages', {
    schema: {
      tags, summary: 'Failed or expired messages, newest first', security: ADMIN_TOKEN, querystring: ListQuery,
      response: { 200: Page, ...errorResponses(400, 403, 503) },
    },
  }, async (request) => {
    const q = request.query;
    if (q.cursor !== undefined && !isEndedCursor(q.cursor)) throw new GatewayError('INVALID_PARAMETER', 'cursor is not one this API handed out');
    const page = await storeCall(() => deps.store.listEnded({
      state: q.state, limit: q.limit, after: q.cursor ?? null,
      ...(q.tenant === undefined ? {} : { tenantId: q.tenant }),
      ...(q.number === undefined ? {} : { phoneNumberId: q.number }),
    }));
    return { data: page.records.map(adminView), next: page.next };
  });

  app.post<{ Params: { id: string }; Body: { deadline_sec?: number } | null | undefined }>('/admin/messages/:id/requeue', {
    schema: {
      tags, summary: 'Send a failed or expired message again', security: ADMIN_TOKEN,
      params: Type.Object({ id: Type.String({ description: 'Gateway message id' }) }),
      body: RequeueBody,
      response: { 200: AdminMessageSchema, ...errorResponses(400, 403, 404, 503) },
    },
  }, async (request) => {
    const { id } = request.params;
    if (!MESSAGE_ID_PATTERN.test(id)) throw new GatewayError('NOT_FOUND', `No message ${id}`);
    const nowMs = deps.clock.nowMs();
    const found = await storeCall(() => findAny(deps, id));
    if (found === null) throw new GatewayError('NOT_FOUND', `No message ${id}`);
    const tenant = deps.tenants.tenant(found.tenantId);
    if (tenant === undefined || deps.tenants.number(found.phoneNumberId)?.tenant.id !== tenant.id) {
      throw new GatewayError('INVALID_PARAMETER', `Message ${id} belongs to a number or tenant no longer configured; nothing was changed`);
    }
    const deadlineSec = request.body?.deadline_sec ?? tenant.deadlineSec;
    const record = await storeCall(() => deps.store.requeue(id, { atMs: nowMs, deadlineAtMs: nowMs + deadlineSec * 1000 }));
    if (record === null) {
      throw new GatewayError('INVALID_PARAMETER', `Message ${id} is ${found.state}: only failed or expired messages can be requeued`);
    }
    deps.dispatch.submit(record);
    request.log.info({ id, tenant: record.tenantId, phoneNumberId: record.phoneNumberId }, 'message requeued by an operator');
    return adminView(record);
  });
}

/** The message by id whatever its tenant: tried against each tenant that has numbers (ids are unique). */
async function findAny(deps: GatewayDeps, id: string): Promise<MessageRecord | null> {
  const tenants = new Set([...deps.tenants.numbers()].map((n) => n.tenant.id));
  for (const tenantId of tenants) {
    const record = await deps.store.get(tenantId, id);
    if (record !== null) return record;
  }
  return null;
}

async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw new GatewayError('STORAGE_UNAVAILABLE', 'The store could not be read or written; nothing was changed, retry later', 1);
  }
}
