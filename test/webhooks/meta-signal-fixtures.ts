/**
 * Meta's account-signal webhooks, written from Meta's webhook reference pages (developers.facebook.com
 * .../whatsapp/webhooks/reference/{business_capability_update, phone_number_quality_update,
 * account_update, user_preferences}), with their documented example values. Not derived from
 * sendgate's parser: the shapes are Meta's, including what sendgate does not read.
 */

/** Meta's example WABA id and display number in those pages. */
export const META_WABA_ID = '102290129340398';
export const META_DISPLAY_NUMBER = '15550783881';

function envelope(wabaId: string, field: string, value: object): object {
  return { entry: [{ id: wabaId, time: 1739321024, changes: [{ value, field }] }], object: 'whatsapp_business_account' };
}

/**
 * business_capability_update. Limits are integers, -1 for unlimited. `max_daily_conversation_per_phone`
 * is the older field (removed Feb 2026); webhooks up to v23 may carry only it.
 */
export function capabilityUpdate(options: { perBusiness?: number; perPhone?: number; wabaId?: string } = {}): object {
  const value: Record<string, unknown> = { max_phone_numbers_per_business: 2, max_phone_numbers_per_waba: 2 };
  if (options.perPhone !== undefined) value.max_daily_conversation_per_phone = options.perPhone;
  if (options.perBusiness !== undefined) value.max_daily_conversations_per_business = options.perBusiness;
  return envelope(options.wabaId ?? META_WABA_ID, 'business_capability_update', value);
}

/**
 * phone_number_quality_update: the number is named by its display number only. `old_limit` only for
 * messaging limit changes; `current_limit` is the older field, `max_daily_conversations_per_business` the new.
 */
export function qualityUpdate(options: { event: string; currentLimit?: string; maxDaily?: string; oldLimit?: string; display?: string; wabaId?: string }): object {
  const value: Record<string, unknown> = { display_phone_number: options.display ?? META_DISPLAY_NUMBER, event: options.event };
  if (options.oldLimit !== undefined) value.old_limit = options.oldLimit;
  if (options.currentLimit !== undefined) value.current_limit = options.currentLimit;
  if (options.maxDaily !== undefined) value.max_daily_conversations_per_business = options.maxDaily;
  return envelope(options.wabaId ?? META_WABA_ID, 'phone_number_quality_update', value);
}

/** account_update ACCOUNT_RESTRICTION: `restriction_info[]` with type and expiration. */
export function accountRestriction(restrictions: Array<{ type: string; expiration: string }>, wabaId = META_WABA_ID): object {
  return envelope(wabaId, 'account_update', {
    event: 'ACCOUNT_RESTRICTION',
    restriction_info: restrictions.map((r) => ({ restriction_type: r.type, expiration: r.expiration })),
  });
}

/** account_update ACCOUNT_VIOLATION: reported, nothing to pause. */
export function accountViolation(wabaId = META_WABA_ID): object {
  return envelope(wabaId, 'account_update', { event: 'ACCOUNT_VIOLATION', violation_info: { violation_type: 'SCAM' } });
}

/** user_preferences: a user stopped or resumed marketing messages. */
export function userPreference(options: { phoneNumberId: string; waId: string; value: 'stop' | 'resume'; display?: string; wabaId?: string }): object {
  return envelope(options.wabaId ?? META_WABA_ID, 'user_preferences', {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: options.display ?? META_DISPLAY_NUMBER, phone_number_id: options.phoneNumberId },
    contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: options.waId }],
    user_preferences: [{
      wa_id: options.waId,
      detail: options.value === 'stop' ? 'User requested to stop marketing messages' : 'User requested to resume marketing messages',
      category: 'marketing_messages',
      value: options.value,
      timestamp: 1731705721,
    }],
  });
}

/** A `messages` webhook (an inbound text) whose metadata carries the number's display number. */
export function inboundWithDisplay(phoneNumberId: string, display: string, wamid: string, from = '16505551234'): object {
  return envelope(META_WABA_ID, 'messages', {
    messaging_product: 'whatsapp',
    metadata: { display_phone_number: display, phone_number_id: phoneNumberId },
    contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: from }],
    messages: [{ from, id: wamid, timestamp: '1749416383', type: 'text', text: { body: 'Does it come in another color?' } }],
  });
}
