/**
 * The send route, Graph-compatible: POST /{version}/{phone-number-id}/messages and the unversioned
 * POST /{phone-number-id}/messages that some SDKs produce.
 *
 * Order of checks: who (401) → which number (404/403) → what (400) → queue caps (429) → can it
 * make its deadline (429) → durable enqueue (503 if storage fails) → 202, or with `Prefer: wait=N` the upstream's
 * answer when it comes within N seconds.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../../errors.js';
import { buildMessage } from '../../gateway/send-request.js';
import { isSharedPolicy } from '../../policy/shared-admission.js';
import { FINAL_STATES, type MessageRecord, type MessageState } from '../../store/types.js';
import { requireOwnNumber, requireTenant } from '../auth.js';
import type { GatewayDeps } from '../deps.js';
import { endedAnswer } from '../ended-answer.js';
import { checkQueueCaps } from '../queue-caps.js';
import { TENANT_KEY, handlerValidates } from '../schemas/common.js';
import { CloudApiMessage, SendHeaders, SendParams, sendResponses } from '../schemas/send.js';

const VERSION = /^v[0-9]+\.[0-9]+$/;
const PREFER_WAIT = /(?:^|[,;\s])wait=([0-9]+)/i;
/** Longest a client may hold a request open with `Prefer: wait`. */
const MAX_WAIT_SEC = 60;
/** Final states of a message that was never (successfully) sent. */
const UNSENT_STATES: ReadonlySet<MessageState> = new Set(['failed', 'expired', 'rejected']);

interface Params { version?: string; phoneNumberId: string }

export async function sendRoutes(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  const handler = (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => handleSend(deps, request, reply);
  const route = (summary: string) => ({
    schema: {
      tags: ['messages'], summary, security: TENANT_KEY,
      params: SendParams, headers: SendHeaders, body: CloudApiMessage, response: sendResponses,
    },
    // Documentation only: the Cloud API body is checked by hand, never stricter than Meta.
    validatorCompiler: handlerValidates,
  });
  app.post<{ Params: Params }>('/:version/:phoneNumberId/messages', route('Send a message (Cloud API compatible)'), (request, reply) => {
    if (!VERSION.test(request.params.version ?? '')) {
      throw new GatewayError('NOT_FOUND', `Unknown API version '${request.params.version}': expected vNN.N`);
    }
    return handler(request, reply);
  });
  app.post<{ Params: Params }>('/:phoneNumberId/messages', route('Send a message (unversioned path)'), handler);
}

async function handleSend(deps: GatewayDeps, request: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<unknown> {
  const tenant = requireTenant(deps.tenants, request);
  const { number } = requireOwnNumber(deps.tenants, tenant, request.params.phoneNumberId);
  const nowMs = deps.clock.nowMs();
  const { message, category, body } = buildMessage(tenant, number.phoneNumberId, request.body, {
    idempotencyKey: header(request, 'idempotency-key'),
    deadline: header(request, 'x-sendgate-deadline'),
    category: header(request, 'x-sendgate-category'),
  }, nowMs, deps.templates === undefined ? undefined : (name, language) => deps.templates!.categoryOf(tenant.id, name, language));
  // Keyed by the wa_id Meta knows the recipient by, so windows and opt-outs from inbound apply.
  if (message.to !== '' && deps.recipients !== undefined) message.to = deps.recipients.resolve(message.to);

  // A retry of an accepted request is answered as the original, before any check that could now
  // refuse a *new* message: "429, nothing stored" would make the client send it again.
  if (message.idempotencyKey !== null) {
    const prior = await storeCall(request, () => deps.store.findByIdempotencyKey(tenant.id, message.idempotencyKey!));
    if (prior !== null) {
      if (prior.bodyHash !== message.bodyHash) throw conflict();
      return answer(deps, request, reply, prior.record, []);
    }
  }

  checkQueueCaps(deps.config.limits, deps.dispatch, tenant, number, nowMs);
  const waitMs = deps.dispatch.estimateWaitMs(number.phoneNumberId, { priority: message.priority, to: message.to });
  if (!Number.isFinite(waitMs)) {
    throw new GatewayError('DEADLINE_UNMEETABLE', `Phone number id ${number.phoneNumberId} is paused; nothing was stored, retry after it is resumed`, 60);
  }
  if (nowMs + waitMs > message.deadlineAtMs) {
    throw new GatewayError('DEADLINE_UNMEETABLE',
      `The number's queue needs about ${Math.ceil(waitMs / 1000)} s, past this message's deadline; retry later or give a later X-Sendgate-Deadline`,
      (nowMs + waitMs - message.deadlineAtMs) / 1000);
  }

  // Policies charge their budgets here; everything after this point gives them back on failure.
  // A fleet's engine (storage.kind "redis") reads and charges the shared state first: at most two
  // round trips, and a Redis failure is a 503 with nothing stored. One process's engine is synchronous.
  const admitInput = { tenantId: tenant.id, phoneNumberId: number.phoneNumberId, to: message.to, body, category, nowMs };
  const admission = isSharedPolicy(deps.policy) ? await deps.policy.admitAsync(admitInput) : deps.policy.admit(admitInput);
  let outcome;
  try {
    outcome = await storeCall(request, () => deps.store.enqueue(message));
  } finally {
    if (outcome?.kind !== 'created') admission.release();
  }
  if (outcome.kind === 'conflict') throw conflict();
  const record = outcome.record;
  if (outcome.kind === 'created') {
    deps.metrics.acceptedBy(tenant.id).inc();
    deps.dispatch.submit(record);
  }
  return answer(deps, request, reply, record, admission.warnings);
}

const conflict = () => new GatewayError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used earlier with a different request body');

/** A store call whose failure means nothing was accepted: 503, logged with the request id. */
async function storeCall<T>(request: FastifyRequest, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    request.log.error({ err }, 'store call failed');
    throw new GatewayError('STORAGE_UNAVAILABLE', 'The message could not be stored; nothing was accepted, retry later', 1);
  }
}

/** 202 with the accepted shape, or with `Prefer: wait=N` the outcome if it comes within N s. */
async function answer(deps: GatewayDeps, request: FastifyRequest, reply: FastifyReply, record: MessageRecord, warnings: readonly string[]): Promise<unknown> {
  const waitSec = preferWaitSec(header(request, 'prefer'));
  // A retry of a message that already ended has nothing left to wait for.
  if (waitSec > 0 && !FINAL_STATES.has(record.state)) {
    const answer = await deps.dispatch.waitForOutcome(record.id, waitSec * 1000);
    if (answer !== null) {
      reply.header('preference-applied', `wait=${waitSec}`).header('x-sendgate-message-id', record.id);
      if (answer.status > 0 && answer.bodyText !== '') {
        // The client learns the message by its wamid here: Meta-format webhooks keep using it.
        if (answer.status < 300) await noteWamidAnswered(deps, request, record);
        return reply.code(answer.status).type('application/json').send(withGatewayId(answer.bodyText, record.id));
      }
      // Ended without an upstream answer (expired, network failures): the envelope from what was recorded.
      const ended = endedAnswer(record.id, answer.state, answer.error, String(request.id));
      return reply.code(ended.status).type('application/json').send(ended.body);
    }
  }
  // A retry of a message that ended unsent is told how it ended (ended-answer.ts), not "accepted".
  if (UNSENT_STATES.has(record.state)) {
    const ended = endedAnswer(record.id, record.state, record.lastError, String(request.id));
    return reply.code(ended.status).header('x-sendgate-message-id', record.id).type('application/json').send(ended.body);
  }
  return reply.code(202).header('x-sendgate-message-id', record.id).send(acceptedBody(record, warnings));
}

/** Best effort: a failed note only means statuses name the gateway id (the wamid is beside it). */
async function noteWamidAnswered(deps: GatewayDeps, request: FastifyRequest, record: MessageRecord): Promise<void> {
  try {
    await deps.wamidAnswers?.noteWamidAnswered(record.tenantId, record.id);
  } catch (err) {
    request.log.warn({ err, id: record.id }, 'noting a wamid answer failed');
  }
}

function acceptedBody(record: MessageRecord, warnings: readonly string[]): object {
  const extra = warnings.length > 0 ? { sendgate_warnings: warnings } : {};
  if (record.to === '') return { success: true, messages: [{ id: record.id, message_status: 'accepted' }], ...extra };
  return {
    messaging_product: 'whatsapp',
    contacts: [{ input: record.toInput, wa_id: record.to }],
    messages: [{ id: record.id, message_status: 'accepted' }],
    ...extra,
  };
}

/** The upstream body with `messages[0].gateway_id` added, so SDKs still read the wamid at `messages[0].id`. */
function withGatewayId(bodyText: string, id: string): string {
  try {
    const body = JSON.parse(bodyText) as { messages?: Array<Record<string, unknown>> };
    if (Array.isArray(body.messages) && body.messages[0] !== undefined) body.messages[0].gateway_id = id;
    else (body as Record<string, unknown>).gateway_id = id;
    return JSON.stringify(body);
  } catch {
    return bodyText;
  }
}

function preferWaitSec(prefer: string | undefined): number {
  if (prefer === undefined) return 0;
  const match = PREFER_WAIT.exec(prefer);
  return match ? Math.min(MAX_WAIT_SEC, Number(match[1])) : 0;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
