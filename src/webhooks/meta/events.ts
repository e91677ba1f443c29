/**
 * Typed events parsed out of Meta's WhatsApp webhooks (see reference/cloud-api.md §6).
 * The parser (parse.ts) produces these; the rest of the gateway consumes only these, never
 * Meta's raw envelope, so a payload change upstream is absorbed in one file.
 */

export type StatusValue = 'sent' | 'delivered' | 'read' | 'failed';

export interface StatusError {
  code: number;
  title: string;
  details: string;
}

/** `value.statuses[]`: what happened to a message the business sent. */
export interface StatusEvent {
  kind: 'status';
  phoneNumberId: string;
  wamid: string;
  status: StatusValue;
  /** Recipient wa_id (digits), or '' when Meta sent none (BSUID-only recipients). */
  recipient: string;
  timestampMs: number;
  errors?: StatusError[];
  /** `biz_opaque_callback_data` echoed from the send. */
  bizOpaque?: string;
}

/** `value.messages[]`: a message a user sent to the business number. Opens the 24 h window. */
export interface InboundEvent {
  kind: 'inbound';
  phoneNumberId: string;
  /** Sender wa_id, or the BSUID (`from_user_id`) when the user has a username and no `from`. */
  from: string;
  messageId: string;
  timestampMs: number;
  /** Meta's message `type` (`text`, `image`, `button`, `interactive`, ...). */
  type: string;
  /** The user's words when there are any: text body, button text, interactive reply title, media caption. */
  text?: string;
  /** The message object exactly as Meta sent it, for consumers that need more. */
  raw: Record<string, unknown>;
}

/** A messaging limit as Meta states it (`TIER_1K`, `10K`, `UNLIMITED`, ...), normalised. */
export type MessagingLimit = number | 'unlimited';

/** `phone_number_quality_update`: quality / limit / throughput change of one number. */
export interface QualityEvent {
  kind: 'quality';
  /** Meta identifies the number by its display number here; the id is set only when the payload has one. */
  phoneNumberId: string | null;
  displayPhoneNumber: string | null;
  wabaId: string;
  /** `THROUGHPUT_UPGRADE`, `ONBOARDING`, `FLAGGED`, `UNFLAGGED`, `UPGRADE`, `DOWNGRADE`, ... */
  event: string;
  currentLimit?: MessagingLimit;
  maxDailyConversations?: MessagingLimit;
}

/** `business_capability_update`: the portfolio's limits changed. */
export interface CapabilityEvent {
  kind: 'capability';
  phoneNumberId: string | null;
  wabaId: string;
  maxDailyConversationsPerBusiness?: MessagingLimit;
  maxPhoneNumbersPerBusiness?: number;
}

export type MetaEvent = StatusEvent | InboundEvent | QualityEvent | CapabilityEvent;
