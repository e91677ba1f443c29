/**
 * Meta's account-level webhook fields beside `messages` → typed events (parse.ts routes them here):
 *
 *   account_update:   {"event":"ACCOUNT_RESTRICTION","restriction_info":[{"restriction_type":"RESTRICTED_BIZ_INITIATED_MESSAGING","expiration":"2026-04-19T13:59:20+0000"}]}
 *                     {"event":"DISABLED_UPDATE","ban_info":{"waba_ban_state":"DISABLE","waba_ban_date":"..."}}
 *   template_category_update: {"message_template_id","message_template_name","message_template_language",
 *                     "previous_category","new_category"}  (impending: "correct_category","new_category" = current)
 *   user_preferences: {"messaging_product":"whatsapp","metadata":{"display_phone_number","phone_number_id"},
 *                      "contacts":[...],"user_preferences":[{"wa_id","detail","category":"marketing_messages","value":"stop","timestamp"}]}
 *
 * The WABA id is `entry[].id`. Tolerant like parse.ts: what cannot be read is skipped and counted.
 */
import type { AccountRestriction, AccountUpdateEvent, MetaEvent, PreferenceEvent, TemplateCategoryEvent } from './events.js';
import { isObj, secondsToMs, str } from './parse.js';

type Obj = Record<string, unknown>;

export function parseAccountUpdate(v: Obj, wabaId: string): AccountUpdateEvent {
  const event: AccountUpdateEvent = { kind: 'account', wabaId, event: str(v.event) ?? '', restrictions: [] };
  if (Array.isArray(v.restriction_info)) {
    for (const r of v.restriction_info) {
      if (!isObj(r)) continue;
      const type = str(r.restriction_type);
      if (type !== undefined) event.restrictions.push({ type, expiresAtMs: expirationMs(r.expiration) } satisfies AccountRestriction);
    }
  }
  const ban = isObj(v.ban_info) ? str(v.ban_info.waba_ban_state) : undefined;
  if (ban !== undefined) event.banState = ban;
  return event;
}

export function parseUserPreferences(v: Obj, wabaId: string, out: MetaEvent[], skip: (reason: string) => void): void {
  const metadata = isObj(v.metadata) ? v.metadata : {};
  const phoneNumberId = str(metadata.phone_number_id);
  if (phoneNumberId === undefined || !Array.isArray(v.user_preferences)) {
    skip('bad:user_preferences');
    return;
  }
  for (const p of v.user_preferences) {
    const waId = isObj(p) ? str(p.wa_id) : undefined;
    const value = isObj(p) ? str(p.value) : undefined;
    if (!isObj(p) || waId === undefined || value === undefined) {
      skip('bad:user_preference');
      continue;
    }
    const event: PreferenceEvent = {
      kind: 'preference', wabaId, phoneNumberId, displayPhoneNumber: str(metadata.display_phone_number) ?? null,
      waId, category: str(p.category) ?? '', value, timestampMs: secondsToMs(p.timestamp),
    };
    out.push(event);
  }
}

/** template_category_update: `new_category` is the template's category now, in both of its forms. */
export function parseTemplateCategory(v: Obj, wabaId: string): TemplateCategoryEvent | undefined {
  const name = str(v.message_template_name);
  const language = str(v.message_template_language);
  const category = str(v.new_category);
  if (name === undefined || language === undefined || category === undefined) return undefined;
  return { kind: 'template', wabaId, name, language, category };
}

/**
 * A restriction's end: Unix seconds (a number or digits) or Meta's `2026-04-19T13:59:20+0000`
 * (ISO 8601 with a zone offset lacking its colon, which Date.parse reads on Node).
 */
function expirationMs(raw: unknown): number | null {
  if (typeof raw === 'number' || (typeof raw === 'string' && /^[0-9]{1,12}$/.test(raw))) {
    const ms = secondsToMs(raw);
    return ms > 0 ? ms : null;
  }
  if (typeof raw !== 'string') return null;
  const ms = Date.parse(raw.replace(/([+-][0-9]{2})([0-9]{2})$/, '$1:$2'));
  return Number.isFinite(ms) ? ms : null;
}
