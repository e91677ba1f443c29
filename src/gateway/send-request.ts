/**
 * Turns a raw send request (already authenticated) into a NewMessage: validates the body with the
 * shared Cloud API rules, normalises `to`, resolves deadline, priority and idempotency inputs.
 * Pure: no I/O, no clock reads (nowMs is passed in).
 */
import { createHash } from 'node:crypto';
import { isTemplate, toE164Digits, validateMessageBody } from '../cloud-api/index.js';
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

/** A template's category as Meta has it (template-categories.ts), when known. */
export type TemplateCategoryOf = (name: string, language: string | undefined) => string | undefined;

export function buildMessage(tenant: TenantConfig, phoneNumberId: string, body: unknown, headers: SendHeaders, nowMs: number, templateCategory?: TemplateCategoryOf): BuiltMessage {
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
  const category = parseCategory(headers.category, fields, templateCategory);
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

/** The header's category; else a template's as Meta has it, or `unknown`; free-form is `service`. */
function parseCategory(header: string | undefined, body: Record<string, unknown>, templateCategory?: TemplateCategoryOf): string {
  if (header !== undefined) {
    const value = header.trim().toLowerCase();
    if (!CATEGORIES.has(value)) throw new GatewayError('INVALID_HEADER', `X-Sendgate-Category must be one of ${[...CATEGORIES].join(', ')}`);
    return value;
  }
  if (!isTemplate(body)) return 'service';
  const t = body['template'];
  if (templateCategory === undefined || typeof t !== 'object' || t === null) return 'unknown';
  const { name, language } = t as { name?: unknown; language?: { code?: unknown } };
  if (typeof name !== 'string') return 'unknown';
  return templateCategory(name, typeof language?.code === 'string' ? language.code : undefined) ?? 'unknown';
}

function parseIdempotencyKey(header: string | undefined): string | null {
  if (header === undefined) return null;
  if (!IDEMPOTENCY_KEY.test(header)) throw new GatewayError('INVALID_HEADER', 'Idempotency-Key must be 1 to 255 visible ASCII characters');
  return header;
}

/** RFC 3339 §5.6 date-time: date, `T`, time with seconds, optional fraction, zone `Z` or ±hh:mm (either case). */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))$/;

/**
 * An RFC 3339 instant in ms, NaN for anything else. Checked before Date.parse, which would read a
 * time without zone in the server's local time and roll an impossible date over (Feb 30 → Mar 2).
 * A leap second (:60) is refused: Date.parse cannot represent it.
 */
function parseRfc3339(text: string): number {
  const m = RFC3339.exec(text);
  if (m === null) return Number.NaN;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 59) return Number.NaN;
  if (m[7] !== undefined && (Number(m[7]) > 23 || Number(m[8]) > 59)) return Number.NaN;
  return Date.parse(text.toUpperCase());
}

/** `X-Sendgate-Deadline`: seconds of validity (integer) or an RFC 3339 instant. */
function parseDeadline(header: string | undefined, defaultSec: number, nowMs: number): number {
  if (header === undefined) return nowMs + defaultSec * 1000;
  const text = header.trim();
  const deadlineMs = /^[0-9]{1,10}$/.test(text) ? nowMs + Number(text) * 1000 : parseRfc3339(text);
  if (!Number.isFinite(deadlineMs) || deadlineMs <= nowMs || deadlineMs - nowMs > MAX_VALIDITY_MS) {
    throw new GatewayError('INVALID_HEADER', 'X-Sendgate-Deadline must be a positive number of seconds or a future RFC 3339 time within 30 days');
  }
  return deadlineMs;
}
