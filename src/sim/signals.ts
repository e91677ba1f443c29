/**
 * Meta's account signals, emitted by the simulator on demand (`Simulator.signal()`,
 * `POST /__sim/signal`) in the shapes of Meta's webhook reference, for the number's WABA:
 *   capability  business_capability_update: max_daily_conversations_per_business (-1 = unlimited),
 *               and the older max_daily_conversation_per_phone when `legacy`
 *   quality     phone_number_quality_update: display_phone_number, event, current_limit / max_daily_conversations_per_business
 *   restriction account_update ACCOUNT_RESTRICTION with restriction_info[]
 *   preference  user_preferences: a user stops or resumes marketing messages
 */
import { Type, type Static } from '@sinclair/typebox';

export const SimSignalSchema = Type.Union([
  Type.Object({
    kind: Type.Literal('capability'), phoneNumberId: Type.String(),
    maxDailyConversationsPerBusiness: Type.Integer({ minimum: -1 }), legacy: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('quality'), phoneNumberId: Type.String(), event: Type.String({ minLength: 1 }),
    currentLimit: Type.Optional(Type.String()), maxDailyConversationsPerBusiness: Type.Optional(Type.String()), oldLimit: Type.Optional(Type.String()),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('restriction'), phoneNumberId: Type.String(),
    restrictions: Type.Array(Type.Object({ type: Type.String(), expiration: Type.String() }, { additionalProperties: false })),
  }, { additionalProperties: false }),
  Type.Object({
    kind: Type.Literal('preference'), phoneNumberId: Type.String(), waId: Type.String({ pattern: '^[0-9]{7,15}$' }),
    value: Type.Union([Type.Literal('stop'), Type.Literal('resume')]),
  }, { additionalProperties: false }),
]);

export type SimSignal = Static<typeof SimSignalSchema>;

/** The change (`field`, `value`) Meta sends for a signal about a number. */
export function signalChange(signal: SimSignal, number: { phoneNumberId: string; displayPhoneNumber: string }, nowSec: number): { field: string; value: Record<string, unknown> } {
  switch (signal.kind) {
    case 'capability': {
      const value: Record<string, unknown> = { max_phone_numbers_per_business: 2, max_phone_numbers_per_waba: 2 };
      if (signal.legacy === true) value.max_daily_conversation_per_phone = signal.maxDailyConversationsPerBusiness;
      else value.max_daily_conversations_per_business = signal.maxDailyConversationsPerBusiness;
      return { field: 'business_capability_update', value };
    }
    case 'quality': {
      const value: Record<string, unknown> = { display_phone_number: number.displayPhoneNumber, event: signal.event };
      if (signal.oldLimit !== undefined) value.old_limit = signal.oldLimit;
      if (signal.currentLimit !== undefined) value.current_limit = signal.currentLimit;
      if (signal.maxDailyConversationsPerBusiness !== undefined) value.max_daily_conversations_per_business = signal.maxDailyConversationsPerBusiness;
      return { field: 'phone_number_quality_update', value };
    }
    case 'restriction':
      return {
        field: 'account_update',
        value: { event: 'ACCOUNT_RESTRICTION', restriction_info: signal.restrictions.map((r) => ({ restriction_type: r.type, expiration: r.expiration })) },
      };
    case 'preference':
      return {
        field: 'user_preferences',
        value: {
          messaging_product: 'whatsapp',
          metadata: { display_phone_number: number.displayPhoneNumber, phone_number_id: number.phoneNumberId },
          contacts: [{ profile: { name: 'Simulated User' }, wa_id: signal.waId }],
          user_preferences: [{ wa_id: signal.waId, detail: `User requested to ${signal.value} marketing messages`, category: 'marketing_messages', value: signal.value, timestamp: nowSec }],
        },
      };
  }
}
