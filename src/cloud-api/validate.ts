/**
 * Send-body validation, shared by the gateway's ingress and the simulator so both refuse the same
 * bodies with the same Meta codes. Returns null when the body is one the Cloud API would accept.
 */
import { toE164Digits } from './e164.js';
import {
  invalid, isObject, missing, validateContacts, validateInteractive, validateLocation, validateMedia,
  validateReaction, validateTemplate, validateText,
} from './validate-types.js';

export type MessageBody = Record<string, unknown>;

/** A refusal with Meta's code (100, 131008, 131009, 131051 ...) and a human-readable detail. */
export interface BodyProblem {
  code: number;
  details: string;
}

const POLLUTING_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** Deeper nesting than any real message; a cap keeps a hostile body from costing more than it should. */
const MAX_DEPTH = 16;

/**
 * Walks every object and array for prototype-pollution keys. JSON.parse creates `__proto__` as an
 * own property, so a later spread or merge of the body could otherwise reach Object.prototype.
 */
function findPollution(value: unknown, depth: number): BodyProblem | null {
  if (typeof value !== 'object' || value === null) return null;
  if (depth > MAX_DEPTH) return { code: 100, details: 'Invalid parameter: the body is nested too deeply.' };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = findPollution(value[i], depth + 1);
      if (p) return p;
    }
    return null;
  }
  for (const key of Object.keys(value)) {
    if (POLLUTING_KEYS.has(key)) return { code: 100, details: `Invalid parameter: key '${key}' is not allowed.` };
    const p = findPollution((value as Record<string, unknown>)[key], depth + 1);
    if (p) return p;
  }
  return null;
}

const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);

function validateTypeObject(type: string, body: MessageBody): BodyProblem | null {
  const content = body[type];
  if (content === undefined) return KNOWN_TYPES.includes(type) ? missing(type) : null;
  if (type === 'contacts') return validateContacts(content);
  if (!isObject(content)) return invalid(type, 'must be an object');
  switch (type) {
    case 'text': return validateText(content);
    case 'template': return validateTemplate(content);
    case 'interactive': return validateInteractive(content);
    case 'location': return validateLocation(content);
    case 'reaction': return validateReaction(content);
    // A type sendgate does not know (Meta adds them) passes through: Meta judges its object.
    default: return MEDIA_TYPES.has(type) ? validateMedia(type, content) : null;
  }
}

/** Types whose object sendgate reads (texts, links, sizes); any other type passes through to Meta. */
const KNOWN_TYPES = ['text', 'template', 'interactive', 'location', 'contacts', 'reaction', ...MEDIA_TYPES];
/** What a type name looks like (Meta's are lower_snake_case); keeps a hostile string out of logs and metrics. */
const TYPE_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * The message's type: `type` when given, else the one Meta infers. Meta documents bodies without
 * `type` (its "Send Reply to List Message" example carries only `interactive`), so a missing type
 * is the known type object the body carries, and `text` when it carries none.
 */
export function messageType(body: MessageBody): string {
  const type = body['type'];
  if (typeof type === 'string') return type;
  if (body['text'] !== undefined) return 'text';
  for (const known of KNOWN_TYPES) if (body[known] !== undefined) return known;
  return 'text';
}

/**
 * Validates a send body the way the Cloud API does; returns null when valid. Never stricter than
 * Meta: it checks what the gateway's policies and limits read (recipient, type, texts, links, sizes)
 * in text, template, media (id or link), interactive (button, list, cta_url), location, contacts,
 * reaction and mark-as-read ({status:"read", message_id}); other message types, interactive kinds,
 * template components and parameter types, and unknown fields pass through for Meta to judge.
 * Rejects prototype-pollution keys (__proto__, constructor, prototype) anywhere in the body.
 */
export function validateMessageBody(body: unknown): BodyProblem | null {
  if (!isObject(body)) return { code: 100, details: 'Invalid parameter: the body must be a JSON object.' };
  const polluted = findPollution(body, 0);
  if (polluted) return polluted;
  if (body['messaging_product'] === undefined) return { code: 100, details: 'The parameter messaging_product is required.' };
  if (body['messaging_product'] !== 'whatsapp') return { code: 100, details: "Param messaging_product must be 'whatsapp'." };

  if (body['status'] !== undefined) {
    if (body['status'] !== 'read') return { code: 100, details: "Param status must be 'read'." };
    const id = body['message_id'];
    if (id === undefined) return { code: 100, details: 'The parameter message_id is required.' };
    if (typeof id !== 'string' || id.length === 0 || id.length > 512) return { code: 100, details: 'Param message_id must be a non-empty string.' };
    return null;
  }

  const recipientType = body['recipient_type'];
  if (recipientType !== undefined && recipientType !== 'individual' && recipientType !== 'group') {
    return { code: 100, details: "Param recipient_type must be one of {individual, group}." };
  }
  const to = body['to'];
  if (to === undefined) return { code: 100, details: 'The parameter to is required.' };
  if (typeof to !== 'string') return { code: 100, details: 'Param to must be a string.' };
  if (recipientType === 'group') {
    if (to.length === 0 || to.length > 128) return { code: 100, details: 'Param to must be a group id.' };
  } else if (toE164Digits(to) === null) {
    return { code: 100, details: 'Invalid parameter: to is not a valid phone number.' };
  }

  if (body['type'] !== undefined && typeof body['type'] !== 'string') return { code: 100, details: 'Param type must be a string.' };
  const type = messageType(body);
  if (!TYPE_NAME.test(type)) return { code: 131051, details: 'Message type is not currently supported.' };

  const context = body['context'];
  if (context !== undefined) {
    if (!isObject(context) || typeof context['message_id'] !== 'string' || context['message_id'].length === 0) {
      return invalid('context.message_id', 'must be a non-empty string');
    }
  }
  const opaque = body['biz_opaque_callback_data'];
  if (opaque !== undefined && (typeof opaque !== 'string' || opaque.length > 512)) {
    return invalid('biz_opaque_callback_data', 'must be a string of at most 512 characters');
  }
  return validateTypeObject(type, body);
}

/** True for a mark-as-read (and typing indicator) request, which shares the messages endpoint. */
export function isMarkRead(body: MessageBody): boolean {
  return body['status'] === 'read';
}
