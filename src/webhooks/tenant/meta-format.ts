/**
 * Tenant webhooks in Meta's own format (`tenants[].webhook.format: "meta"`): what an integration
 * written for Meta's webhooks (whatsapp-api-js `post()`, @great-detail/whatsapp, Chatwoot, n8n,
 * hand-written handlers) receives from sendgate unchanged, with the tenant secret as its app secret.
 *
 *   {"object":"whatsapp_business_account","entry":[{"id":"<WABA>","changes":[{"value":{…},"field":"messages"}]}]}
 *
 * One item per delivery (one status or one message, with its metadata and contacts): per-recipient
 * order and retries work item by item, and handlers that read only `changes[0].value.messages[0]`
 * / `statuses[0]` (whatsapp-api-js does) miss nothing. Items are Meta's own objects, so fields
 * sendgate does not know pass through untouched; only ids change (below). The body is
 * ASCII-escaped JSON and signed `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, body)>`,
 * exactly as Meta sends and signs it (sender.ts).
 *
 * Identity: to the client sendgate is the Graph API, so the id it knows is the one the send
 * answered: the gateway id (`sg_…`) for a 202. Statuses carry it in `statuses[].id`, and an inbound
 * reply's `context.id` (or a reaction's `reaction.message_id`) that names a message sent through
 * sendgate is rewritten to it too; Meta's wamid stays beside it (`statuses[].wamid`,
 * `context.wamid`) and the gateway id is also in `gateway_id`. A send whose `Prefer: wait` answer carried the wamid keeps the wamid in `id`.
 *
 * What sendgate itself decided (expired, rejected at departure, failed without an upstream
 * answer) arrives as a `failed` status with one `errors[]` entry in Meta's form.
 */
import type { MessageRecord, RecordedError } from '../../store/types.js';
import type { InboundEvent, MetaSource, PassThroughEvent, StatusEvent } from '../meta/events.js';

export const META_OBJECT = 'whatsapp_business_account';

/** sendgate's codes for endings no upstream answer describes (the 900xxx range of src/errors.ts). */
export const EXPIRED_CODE = 900504;
export const NO_UPSTREAM_ANSWER_CODE = 900502;

type Obj = Record<string, unknown>;

/** Which id a tenant knows a message by: the gateway id, or the wamid when the send answered it. */
export interface MessageIds {
  /** What goes in `id`. */
  id: string;
  gatewayId: string;
  wamid: string | null;
}

export function idsOf(record: Pick<MessageRecord, 'id' | 'wamid'>, answeredWamid: boolean): MessageIds {
  return { id: answeredWamid && record.wamid !== null ? record.wamid : record.id, gatewayId: record.id, wamid: record.wamid };
}

export function metaEnvelope(wabaId: string, field: string, value: Obj): Obj {
  return { object: META_OBJECT, entry: [{ id: wabaId, changes: [{ value, field }] }] };
}

/**
 * Meta's status item, its id the one the tenant knows, in the value it came in. `ids` null: a
 * message sendgate has no record of (sent around it): the item as Meta sent it.
 */
export function statusEnvelope(event: StatusEvent, ids: MessageIds | null): Obj {
  const item: Obj = ids === null ? (event.raw ?? statusItem(event)) : { ...(event.raw ?? statusItem(event)), id: ids.id, gateway_id: ids.gatewayId, wamid: event.wamid };
  const value: Obj = { messaging_product: 'whatsapp', metadata: metadataOf(event.source, event.phoneNumberId) };
  if (event.source?.contacts !== undefined) value.contacts = event.source.contacts;
  value.statuses = [item];
  return metaEnvelope(event.source?.wabaId ?? '', 'messages', value);
}

/**
 * Meta's inbound message with its contacts. `replyTo`: the ids of the message it refers to (a
 * reply's `context.id`, a reaction's `reaction.message_id`), when sendgate sent that message (the
 * caller looked it up); otherwise the message is untouched.
 */
export function inboundEnvelope(event: InboundEvent, replyTo: MessageIds | null): Obj {
  let message = event.raw;
  const context = objectAt(message, 'context');
  // Each reference is rewritten only when it names the message looked up (its wamid).
  if (replyTo !== null && context !== undefined && context.id === replyTo.wamid) {
    message = { ...message, context: { ...context, id: replyTo.id, gateway_id: replyTo.gatewayId, wamid: context.id } };
  }
  const reaction = objectAt(message, 'reaction');
  if (replyTo !== null && reaction !== undefined && reaction.message_id === replyTo.wamid) {
    message = { ...message, reaction: { ...reaction, message_id: replyTo.id, gateway_id: replyTo.gatewayId, wamid: reaction.message_id } };
  }
  const value: Obj = { messaging_product: 'whatsapp', metadata: metadataOf(event.source, event.phoneNumberId) };
  if (event.source?.contacts !== undefined) value.contacts = event.source.contacts;
  value.messages = [message];
  return metaEnvelope(event.source?.wabaId ?? '', 'messages', value);
}

/** The wamid of the business message an inbound message refers to: a reply's `context.id`, else a reaction's `message_id`. */
export function repliedWamid(event: InboundEvent): string | undefined {
  const contextId = objectAt(event.raw, 'context')?.id;
  if (typeof contextId === 'string' && contextId !== '') return contextId;
  const reacted = objectAt(event.raw, 'reaction')?.message_id;
  return typeof reacted === 'string' && reacted !== '' ? reacted : undefined;
}

export function passThroughEnvelope(event: PassThroughEvent): Obj {
  return metaEnvelope(event.wabaId, event.field, event.value);
}

export interface EndedInput {
  record: MessageRecord;
  state: 'failed' | 'expired' | 'rejected';
  ids: MessageIds;
  /** The number as Meta displays it ('' when not known). */
  displayPhoneNumber: string;
  wabaId: string;
  atMs: number;
}

/** A message that ended without Meta's word: a `failed` status, as Meta would report one. */
export function endedEnvelope(input: EndedInput): Obj {
  const { record, ids } = input;
  const item: Obj = {
    id: ids.id,
    status: 'failed',
    timestamp: String(Math.floor(input.atMs / 1000)),
    recipient_id: record.to,
    errors: [metaError(input.state, record.lastError)],
    gateway_id: ids.gatewayId,
  };
  if (ids.wamid !== null) item.wamid = ids.wamid;
  const value: Obj = {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: input.displayPhoneNumber, phone_number_id: record.phoneNumberId },
    statuses: [item],
  };
  return metaEnvelope(input.wabaId, 'messages', value);
}

/** `{code, title, message, error_data: {details}}`, Meta's shape of a status error. */
export function metaError(state: EndedInput['state'], error: RecordedError | null): Obj {
  let code: number;
  let title: string;
  let details: string;
  if (state === 'expired') {
    code = EXPIRED_CODE;
    title = 'Message expired';
    details = 'Not sent before its deadline' + (error === null ? '' : ` (last answer: ${error.code} ${error.title}${error.details === '' ? '' : ` ${error.details}`})`);
  } else if (error === null) {
    code = NO_UPSTREAM_ANSWER_CODE;
    title = state === 'rejected' ? 'Refused at departure' : 'No answer from the Cloud API';
    details = state === 'rejected' ? 'A policy refused the message before it left' : 'The message failed without an upstream answer';
  } else {
    code = error.code > 0 ? error.code : NO_UPSTREAM_ANSWER_CODE;
    title = error.title || (state === 'rejected' ? 'Refused at departure' : 'Failed');
    details = error.details || title;
  }
  return { code, title, message: title, error_data: { details } };
}

function metadataOf(source: MetaSource | undefined, phoneNumberId: string): Obj {
  return source?.metadata ?? { display_phone_number: '', phone_number_id: phoneNumberId };
}

function objectAt(message: Obj, key: string): Obj | undefined {
  const value = message[key];
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Obj) : undefined;
}

/** A status item rebuilt from the parsed event (statuses parked before `raw` was kept). */
function statusItem(event: StatusEvent): Obj {
  const item: Obj = { id: event.wamid, status: event.status, timestamp: String(Math.floor(event.timestampMs / 1000)), recipient_id: event.recipient };
  if (event.errors !== undefined) {
    item.errors = event.errors.map((e) => ({ code: e.code, title: e.title, message: e.title, error_data: { details: e.details } }));
  }
  if (event.bizOpaque !== undefined) item.biz_opaque_callback_data = event.bizOpaque;
  return item;
}
