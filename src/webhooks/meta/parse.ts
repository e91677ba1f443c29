/**
 * Meta webhook envelope → typed events.
 *
 *   {"object":"whatsapp_business_account","entry":[{"id":"<WABA>","changes":[{"field":"messages","value":{…}}]}]}
 *
 * Tolerant by design: Meta adds fields and event types without notice, and a webhook we refuse is
 * retried for 7 days. Anything not understood is skipped and counted under a short reason
 * (`field:<name>`, `status:<value>`, `bad:<what>`) so operators can see what is being dropped.
 */
import { parseAccountUpdate, parseTemplateCategory, parseUserPreferences } from './parse-account.js';
import type {
  CapabilityEvent,
  InboundEvent,
  MessagingLimit,
  MetaEvent,
  MetaSource,
  PassThroughEvent,
  QualityEvent,
  StatusError,
  StatusEvent,
  StatusValue,
} from './events.js';

/** Counts of skipped items by reason; pass one in to observe what the parser ignores. */
export type IgnoredCounts = Map<string, number>;

type Obj = Record<string, unknown>;

const STATUS_VALUES: ReadonlySet<string> = new Set<StatusValue>(['sent', 'delivered', 'read', 'failed']);

export function parseMetaWebhook(json: unknown, ignored?: IgnoredCounts): MetaEvent[] {
  const skip = (reason: string): void => {
    if (ignored) ignored.set(reason, (ignored.get(reason) ?? 0) + 1);
  };
  const events: MetaEvent[] = [];
  if (!isObj(json) || !Array.isArray(json.entry)) {
    skip('bad:envelope');
    return events;
  }
  if (json.object !== undefined && json.object !== 'whatsapp_business_account') skip(`object:${String(json.object)}`);
  for (const entry of json.entry) {
    if (!isObj(entry) || !Array.isArray(entry.changes)) {
      skip('bad:entry');
      continue;
    }
    const wabaId = str(entry.id) ?? '';
    for (const change of entry.changes) {
      if (!isObj(change) || !isObj(change.value)) {
        skip('bad:change');
        continue;
      }
      const field = str(change.field) ?? '';
      const value = change.value;
      switch (field) {
        case 'messages':
          parseMessagesValue(value, wabaId, events, skip);
          break;
        case 'phone_number_quality_update':
          events.push(parseQuality(value, wabaId), passThrough(wabaId, field, value));
          break;
        case 'business_capability_update':
          events.push(parseCapability(value, wabaId), passThrough(wabaId, field, value));
          break;
        case 'account_update':
          events.push(parseAccountUpdate(value, wabaId), passThrough(wabaId, field, value));
          break;
        case 'user_preferences':
          parseUserPreferences(value, wabaId, events, skip);
          events.push(passThrough(wabaId, field, value));
          break;
        case 'template_category_update': {
          const event = parseTemplateCategory(value, wabaId);
          if (event === undefined) skip('bad:template_category_update');
          else events.push(event);
          events.push(passThrough(wabaId, field, value));
          break;
        }
        default:
          skip(`field:${field}`);
          // Not understood here, but a tenant taking Meta's format may handle it: relayed untouched.
          events.push(passThrough(wabaId, field, value));
      }
    }
  }
  return events;
}

/** Keys of a `messages` change value that the parser reads or knowingly passes over. */
const KNOWN_VALUE_KEYS: ReadonlySet<string> = new Set(['messaging_product', 'metadata', 'statuses', 'messages', 'contacts']);

function parseMessagesValue(value: Obj, wabaId: string, out: MetaEvent[], skip: (reason: string) => void): void {
  // Unhandled parts of the value (e.g. value-level `errors`, new keys) are counted, not refused,
  // and relayed as they are to tenants taking Meta's format.
  const unknownKeys = Object.keys(value).filter((key) => !KNOWN_VALUE_KEYS.has(key));
  for (const key of unknownKeys) skip(`key:${key}`);
  const metadata = isObj(value.metadata) ? value.metadata : {};
  if (unknownKeys.length > 0) {
    const rest: Obj = { messaging_product: value.messaging_product ?? 'whatsapp', metadata: value.metadata };
    for (const key of unknownKeys) rest[key] = value[key];
    out.push(passThrough(wabaId, 'messages', rest));
  }
  const phoneNumberId = str(metadata.phone_number_id);
  if (phoneNumberId === undefined) {
    skip('bad:metadata');
    return;
  }
  const contacts = Array.isArray(value.contacts) ? value.contacts.filter(isObj) : [];
  const display = str(metadata.display_phone_number);
  if (Array.isArray(value.statuses)) {
    for (const s of value.statuses) {
      const event = isObj(s) ? parseStatus(s, phoneNumberId) : undefined;
      if (event === undefined) skip(isObj(s) && typeof s.status === 'string' ? `status:${s.status}` : 'bad:status');
      else {
        event.raw = s as Obj;
        if (display !== undefined) event.displayPhoneNumber = display;
        event.source = source(wabaId, metadata, contacts, str(s.recipient_id), str(s.recipient_user_id));
        out.push(event);
      }
    }
  }
  if (Array.isArray(value.messages)) {
    for (const m of value.messages) {
      const event = isObj(m) ? parseInbound(m, phoneNumberId) : undefined;
      if (event === undefined) skip('bad:message');
      else {
        event.source = source(wabaId, metadata, contacts, str(m.from), str(m.from_user_id));
        if (display !== undefined) event.displayPhoneNumber = display;
        out.push(event);
      }
    }
  }
}

/** An item's place in the envelope, with the contacts naming its user (all of them when none does). */
function source(wabaId: string, metadata: Obj, contacts: Obj[], waId: string | undefined, userId: string | undefined): MetaSource {
  const src: MetaSource = { wabaId, metadata };
  if (contacts.length === 0) return src;
  const own = contacts.filter((c) => (waId !== undefined && str(c.wa_id) === waId) || (userId !== undefined && str(c.user_id) === userId));
  src.contacts = own.length > 0 ? own : contacts;
  return src;
}

function passThrough(wabaId: string, field: string, value: Obj): PassThroughEvent {
  const metadata = isObj(value.metadata) ? value.metadata : {};
  return {
    kind: 'passthrough',
    wabaId,
    field,
    value,
    phoneNumberId: str(metadata.phone_number_id) ?? str(value.phone_number_id) ?? null,
    displayPhoneNumber: str(metadata.display_phone_number) ?? str(value.display_phone_number) ?? null,
  };
}

function parseStatus(s: Obj, phoneNumberId: string): StatusEvent | undefined {
  const wamid = str(s.id);
  const status = str(s.status);
  // `played` (voice) and future values carry nothing the gateway acts on.
  if (wamid === undefined || status === undefined || !STATUS_VALUES.has(status)) return undefined;
  const event: StatusEvent = {
    kind: 'status',
    phoneNumberId,
    wamid,
    status: status as StatusValue,
    recipient: str(s.recipient_id) ?? '',
    timestampMs: secondsToMs(s.timestamp),
  };
  if (Array.isArray(s.errors)) event.errors = s.errors.filter(isObj).map(toStatusError);
  const opaque = str(s.biz_opaque_callback_data);
  if (opaque !== undefined) event.bizOpaque = opaque;
  return event;
}

function toStatusError(e: Obj): StatusError {
  const data = isObj(e.error_data) ? e.error_data : {};
  return {
    code: typeof e.code === 'number' ? e.code : Number(e.code ?? 0) || 0,
    title: str(e.title) ?? str(e.message) ?? '',
    details: str(data.details) ?? str(e.message) ?? '',
  };
}

function parseInbound(m: Obj, phoneNumberId: string): InboundEvent | undefined {
  const messageId = str(m.id);
  const from = str(m.from) ?? str(m.from_user_id);
  if (messageId === undefined || from === undefined) return undefined;
  const type = str(m.type) ?? 'unknown';
  const event: InboundEvent = { kind: 'inbound', phoneNumberId, from, messageId, timestampMs: secondsToMs(m.timestamp), type, raw: m };
  const text = inboundText(m, type);
  if (text !== undefined) event.text = text;
  return event;
}

/** The words a user typed or tapped, wherever this message type keeps them. */
function inboundText(m: Obj, type: string): string | undefined {
  const body = isObj(m[type]) ? (m[type] as Obj) : undefined;
  if (body === undefined) return undefined;
  switch (type) {
    case 'text':
      return str(body.body);
    case 'button':
      return str(body.text) ?? str(body.payload);
    case 'interactive': {
      const reply = isObj(body.button_reply) ? body.button_reply : isObj(body.list_reply) ? body.list_reply : undefined;
      return reply ? str(reply.title) : undefined;
    }
    default:
      return str(body.caption);
  }
}

function parseQuality(v: Obj, wabaId: string): QualityEvent {
  const event: QualityEvent = {
    kind: 'quality',
    phoneNumberId: str(v.phone_number_id) ?? null,
    displayPhoneNumber: str(v.display_phone_number) ?? null,
    wabaId,
    event: str(v.event) ?? '',
  };
  const current = parseLimit(v.current_limit);
  if (current !== undefined) event.currentLimit = current;
  const daily = parseLimit(v.max_daily_conversations_per_business ?? v.max_daily_conversation_per_phone);
  if (daily !== undefined) event.maxDailyConversations = daily;
  return event;
}

function parseCapability(v: Obj, wabaId: string): CapabilityEvent {
  const event: CapabilityEvent = { kind: 'capability', phoneNumberId: str(v.phone_number_id) ?? null, wabaId };
  const daily = parseLimit(v.max_daily_conversations_per_business ?? v.max_daily_conversation_per_phone);
  if (daily !== undefined) event.maxDailyConversationsPerBusiness = daily;
  const phones = Number(v.max_phone_numbers_per_business);
  if (v.max_phone_numbers_per_business !== undefined && Number.isFinite(phones)) event.maxPhoneNumbersPerBusiness = phones;
  return event;
}

const LIMIT_SUFFIX: Record<string, number> = { '': 1, K: 1_000, M: 1_000_000 };

/** `TIER_1K` → 1000, -1 → 'unlimited', `TIER_250` → 250, `10K` → 10000, `UNLIMITED`/`TIER_UNLIMITED` → 'unlimited', 2000 → 2000. */
export function parseLimit(raw: unknown): MessagingLimit | undefined {
  // business_capability_update states limits as integers, -1 meaning unlimited.
  if (raw === -1 || raw === '-1') return 'unlimited';
  if (typeof raw === 'number') return Number.isFinite(raw) && raw >= 0 ? raw : undefined;
  if (typeof raw !== 'string') return undefined;
  const s = raw.trim().toUpperCase().replace(/^TIER_/, '');
  if (s === 'UNLIMITED') return 'unlimited';
  const match = /^(\d+(?:\.\d+)?)([KM]?)$/.exec(s);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * (LIMIT_SUFFIX[match[2] ?? ''] ?? 1));
}

export function secondsToMs(raw: unknown): number {
  const seconds = typeof raw === 'number' ? raw : Number(raw);
  return Number.isFinite(seconds) ? seconds * 1000 : 0;
}

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}
