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

/**
 * Where in Meta's envelope an item was: what a tenant taking Meta's own format receives around it
 * (src/webhooks/tenant/meta-format.ts). Kept with the event, also while a status is parked.
 */
export interface MetaSource {
  /** `entry[].id`: the WABA. */
  wabaId: string;
  /** `value.metadata` exactly as Meta sent it. */
  metadata: Record<string, unknown>;
  /** `value.contacts[]` that name this item's user (inbound messages; BSUID statuses). */
  contacts?: Array<Record<string, unknown>>;
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
  /** The status object exactly as Meta sent it (fields sendgate does not know included). */
  raw?: Record<string, unknown>;
  source?: MetaSource;
  /** `metadata.display_phone_number` of the webhook (quality signals name the number by it). */
  displayPhoneNumber?: string;
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
  source?: MetaSource;
  /** `metadata.display_phone_number` of the webhook (quality signals name the number by it). */
  displayPhoneNumber?: string;
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

/**
 * A change the gateway relays to tenants taking Meta's format as Meta sent it: every field other
 * than `messages` (account, template, quality and future fields), and the parts of a `messages`
 * value that are neither statuses nor messages (value-level `errors`, keys Meta adds).
 */
export interface PassThroughEvent {
  kind: 'passthrough';
  wabaId: string;
  field: string;
  value: Record<string, unknown>;
  /** What names the tenant: the number (metadata or value), its display number, else the WABA. */
  phoneNumberId: string | null;
  displayPhoneNumber: string | null;
}

/** One restriction of an `account_update` (`restriction_info[]`). */
export interface AccountRestriction {
  /** `RESTRICTED_BIZ_INITIATED_MESSAGING`, `RESTRICTED_CUSTOMER_INITIATED_MESSAGING`, `RESTRICTED_ADD_PHONE_NUMBER_ACTION`, ... */
  type: string;
  /** When it lifts (ms since epoch), or null when Meta gave no (readable) expiration. */
  expiresAtMs: number | null;
}

/** `account_update`: the WABA was restricted, banned, reinstated, ... (`event` says which). */
export interface AccountUpdateEvent {
  kind: 'account';
  wabaId: string;
  /** `ACCOUNT_RESTRICTION`, `ACCOUNT_VIOLATION`, `DISABLED_UPDATE`, `ACCOUNT_DELETED`, ... */
  event: string;
  restrictions: AccountRestriction[];
  /** `ban_info.waba_ban_state` when present (`DISABLE`, `REINSTATE`, `SCHEDULE_FOR_DISABLE`). */
  banState?: string;
}

/** `user_preferences`: a user stopped or resumed marketing messages from the business. */
export interface PreferenceEvent {
  kind: 'preference';
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber: string | null;
  /** The user's wa_id. */
  waId: string;
  /** `marketing_messages` (the only category Meta sends today). */
  category: string;
  /** `stop` | `resume`. */
  value: string;
  timestampMs: number;
}

/** `template_category_update`: a template's category now (`new_category`, impending or completed change). */
export interface TemplateCategoryEvent {
  kind: 'template';
  wabaId: string;
  name: string;
  language: string;
  /** `MARKETING` | `UTILITY` | `AUTHENTICATION`. */
  category: string;
}

/** Account-level signals: what Meta says about the portfolio, the WABA, a number, a template or a user's preferences. */
export type SignalEvent = QualityEvent | CapabilityEvent | AccountUpdateEvent | PreferenceEvent | TemplateCategoryEvent;

export type MetaEvent = StatusEvent | InboundEvent | SignalEvent | PassThroughEvent;
