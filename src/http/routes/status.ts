/** GET /v1/messages/{id}: a message's state, tenant-scoped (another tenant's id is simply not found). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { MESSAGE_ID_PATTERN } from '../../gateway/ids.js';
import type { MessageRecord } from '../../store/types.js';
import { requireTenant } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { TENANT_KEY, errorResponses } from '../schemas/common.js';
import { MessageStatusSchema } from '../schemas/messages.js';

export async function statusRoutes(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.get<{ Params: { id: string } }>('/v1/messages/:id', {
    schema: {
      tags: ['messages'], summary: 'A message\'s state (tenant-scoped)', security: TENANT_KEY,
      params: Type.Object({ id: Type.String({ description: 'Gateway message id' }) }),
      response: { 200: MessageStatusSchema, ...errorResponses(401, 404, 503) },
    },
  }, async (request) => {
    const tenant = requireTenant(deps.tenants, request);
    const { id } = request.params;
    const record = MESSAGE_ID_PATTERN.test(id) ? await deps.store.get(tenant.id, id) : null;
    if (record === null) throw new GatewayError('NOT_FOUND', `No message ${id} for this tenant`);
    return statusView(record);
  });
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function statusView(record: MessageRecord): object {
  return {
    id: record.id,
    state: record.state,
    phone_number_id: record.phoneNumberId,
    to: record.to,
    attempts: record.attempts,
    wamid: record.wamid,
    last_error: record.lastError,
    created_at: iso(record.createdAtMs),
    updated_at: iso(record.updatedAtMs),
    deadline_at: iso(record.deadlineAtMs),
    next_attempt_at: record.state === 'queued' ? iso(record.notBeforeMs) : null,
    sent_at: iso(record.sentAtMs),
    delivered_at: iso(record.deliveredAtMs),
    read_at: iso(record.readAtMs),
  };
}
