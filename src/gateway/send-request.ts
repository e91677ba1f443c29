/**
 * Turns a raw send request (already authenticated) into a NewMessage: validates the body with the
 * shared Cloud API rules, normalises `to`, resolves deadline, priority and idempotency inputs.
 * Pure: no I/O, no clock reads (nowMs is passed in).
 */
import { createHash } from 'node:crypto';
import { toE164Digits, validateMessageBody } from '../cloud-api/index.js';
import type { TenantConfig } from '../config/schema.js';
import { GatewayError } from '../errors.js';
import type { NewMessage, Priority } from '../store/types.js';
import { newMessageId } from './ids.js';

export interface SendHeaders {
  idempotencyKey: string | undefined;
  deadline: string | undefined;
  category: string | undefined;
}

const CATEGORIES = new Set(['authentication', 'utility', 'marketing', 'service']);
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** Latest deadline a client may ask for: Meta keeps an undelivered message at most 30 days. */
const MAX_VALIDITY_MS = 30 * 86_400_000;

export interface BuiltMessage {
  message: NewMessage;
  /** authentication | utility | marketing | service | unknown */
  category: string;
  body: Record<string, unknown>;
}

export function buildMessage(tenant: TenantConfig, phoneNumberId: string, body: unknown, headers: SendHeaders, nowMs: number): BuiltMessage {
  const problem = validateMessageBody(body);
  if (problem !== null) throw new GatewayError('INVALID_PARAMETER', problem.details);
  const fields = body as Record<string, unknown>;
  const markAsRead = fields.status === 'read';
  let to = '';
  let toInput = '';
  if (!markAsRead) {
    toInput = String(fields.to);
    const digits = toE164Digits(toInput);
    if (digits === null) throw new GatewayError('INVALID_RECIPIENT', `'to' is not a valid E.164 phone number: expected 7 to 15 digits, optionally with +, spaces, hyphens or parentheses`);
    to = digits;
  }
  const category = parseCategory(headers.category, fields);
  const idempotencyKey = parseIdempotencyKey(headers.idempotencyKey);
  // What goes upstream carries the normalised recipient, so what is counted is what is sent.
  const upstreamBody = markAsRead ? JSON.stringify(fields) : JSON.stringify({ ...fields, to: `+${to}` });
  const message: NewMessage = {
    id: newMessageId(nowMs),
    tenantId: tenant.id,
    phoneNumberId,
    to,
    toInput,
    body: upstreamBody,
    priority: priorityOf(category),
    createdAtMs: nowMs,
    deadlineAtMs: parseDeadline(headers.deadline, tenant.deadlineSec, nowMs),
    idempotencyKey,
    // The number is part of what is hashed: the same key and body to another number is a conflict, not a duplicate.
    bodyHash: idempotencyKey === null ? null : createHash('sha256').update(phoneNumberId).update('\n').update(upstreamBody).digest('base64url'),
  };
  return { message, category, body: fields };
}

/** Authentication and utility templates, and service replies, go before marketing in a lane. */
function priorityOf(category: string): Priority {
  return category === 'marketing' || category === 'unknown' ? 1 : 0;
}

function parseCategory(header: string | undefined, body: Record<string, unknown>): string {
  if (header !== undefined) {
    const value = header.trim().toLowerCase();
    if (!CATEGORIES.has(value)) throw new GatewayError('INVALID_HEADER', `X-Sendgate-Category must be one of ${[...CATEGORIES].join(', ')}`);
    return value;
  }
  return body.type === 'template' ? 'unknown' : 'service';
}

function parseIdempotencyKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(header)) throw new GatewayError('INVALID_HEADER', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  return header;
}

/** `X-Sendgate-Deadline`: seconds of validity (integer) or an RFC 3339 instant. */
function parseDeadline(header: string | undefined, defaultSec: number, nowMs: number): number {
  if (header === undefined) return nowMs + defaultSec * 1000;
  const text = header.trim();
  let deadlineMs: number;
  if (/^[0-9]{1,10}$/.test(text)) deadlineMs = nowMs + Number(text) * 1000;
  else if (/^\d{4}-\d{2}-\d{2}T/.test(text)) deadlineMs = Date.parse(text);
  else deadlineMs = Number.NaN;
  if (!Number.isFinite(deadlineMs) || deadlineMs <= nowMs || deadlineMs - nowMs > MAX_VALIDITY_MS) {
    throw new GatewayError('INVALID_HEADER', 'X-Sendgate-Deadline must be a positive number of seconds or a future RFC 3339 time within 30 days');
  }
  return deadlineMs;
}
