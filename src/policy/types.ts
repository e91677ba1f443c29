/**
 * Shapes shared by the policy engine's parts: the slice of the limits core it uses, the events
 * other parts of the gateway feed it, consent records, and its counters.
 */
import type { TenantConfig } from '../config/schema.js';
import type { Core } from '../core/types.js';
import type { GatewayError } from '../errors.js';
import type { Admission, AdmitInput, PolicyPort } from '../gateway/ports.js';

/** A queued marketing template at departure (policy re-check). */
export interface DepartureInput {
  phoneNumberId: string;
  to: string;
  /** A marketing (or uncategorised) template: checked against opt-out, 131049 and 131026 too. */
  marketing: boolean;
  nowMs: number;
}

/** What the policies need of the core (the WASM core or the reference model both satisfy it). */
export type PolicyCore = Pick<Core, 'unique' | 'repeat' | 'window' | 'fingerprintOf' | 'lastShareRefused'>;

/** Names used in refusal details and in stats (one per policy). */
export type PolicyName =
  | 'serviceWindow'
  | 'optIn'
  | 'optOut'
  | 'messagingLimit'
  | 'repeat'
  | 'links'
  | 'warmup'
  | 'undeliverable'
  | 'marketingDeferral';

export const POLICY_NAMES: readonly PolicyName[] = [
  'serviceWindow', 'optIn', 'optOut', 'messagingLimit', 'repeat', 'links', 'warmup', 'undeliverable', 'marketingDeferral',
];

/** A message a user sent to a business number (from the Meta webhook parser). */
export interface InboundMessage {
  phoneNumberId: string;
  /** Sender wa_id (E.164 digits). */
  from: string;
  /** The user's words, when the message has any. */
  text?: string | undefined;
  /** When the user sent it (Meta's timestamp); opens the window from then. */
  timestampMs: number;
}

/** A message that ended without reaching the user after it was admitted. */
export interface FinalEvent {
  tenantId: string;
  to: string;
  /** Only `failed`, `expired` and `rejected` give a slot back. */
  state: string;
  /**
   * Whether the message was a template (`type: "template"` in its body). Only templates hold tier
   * slots, so `false` gives nothing back; omitted is treated as a template.
   */
  template?: boolean;
}

/** An asynchronous delivery failure reported by Meta (status webhook `failed`). */
export interface DeliveryFailure {
  tenantId: string;
  phoneNumberId: string;
  to: string;
  /** Meta error code: 131026 (undeliverable) and 131049 (marketing cap) are acted on. */
  code: number;
}

export type ConsentStatus = 'opt_in' | 'opt_out';

/** One consent fact, as recorded for audit. */
export interface ConsentRecord {
  tenantId: string;
  /** E.164 digits. */
  recipient: string;
  status: ConsentStatus;
  /** Where the consent came from: "api", "import", "inbound", or a caller's own label. */
  source: string;
  /** When the user gave or withdrew consent (ms since epoch). */
  atMs: number;
}

/** A recipient's current consent plus its most recent history, newest first. */
export interface ConsentView {
  current: ConsentRecord | undefined;
  history: ConsentRecord[];
}

/** Refusal counters per tenant and policy; `shadow` counts what shadow mode would have refused. */
/** Unique recipients of business-initiated sends charged in the moving 24 h, against the tenant's limit. */
export interface TierUse {
  used: number;
  limit: number | 'unlimited';
}

export interface PolicyStats {
  refused: Record<string, Partial<Record<PolicyName, number>>>;
  shadow: Record<string, Partial<Record<PolicyName, number>>>;
  /** Admissions that carried a warning (optIn: warn), per tenant. */
  warned: Record<string, number>;
}

/** The engine: PolicyPort plus the event inputs, consent and live control. */
export interface PolicyEngine extends PolicyPort {
  admit(input: AdmitInput): Admission;
  /**
   * A template about to leave. Marketing: the suppressions learned since its admission (the user
   * opted out, Meta capped marketing to them with 131049, or reported them undeliverable with
   * 131026). Any template: if the customer service window has closed since admission, it starts
   * a business-initiated conversation and is charged to the messaging limit now. Answers the
   * refusal admission would now give, or null when it may leave.
   */
  departureRefusal(input: DepartureInput): GatewayError | null;
  /** Admission's verdict without charging or counting anything (a broadcast's plan). */
  judge(input: AdmitInput): { refusal: GatewayError | null; newTierSlot: boolean };
  onInbound(message: InboundMessage): void;
  onFinal(event: FinalEvent): void;
  onDeliveryFailure(event: DeliveryFailure): void;
  setMessagingLimit(tenantId: string, limit: number | 'unlimited'): void;
  /**
   * The tenants changed at run time (src/gateway/catalog): their policies apply from the next
   * decision. A messaging limit Meta set through a webhook stays until the tenant's configured one changes.
   */
  setTenants(tenants: readonly TenantConfig[]): void;
  recordConsent(records: readonly ConsentRecord[]): number;
  consentOf(tenantId: string, recipient: string): ConsentView;
  /** Warm-up caps of a number now (null when it is not warming up), for the dispatcher's pacing. */
  warmupCapsOf(phoneNumberId: string, nowMs: number): { windowMs: number; limit: number } | null;
  /** A tenant's messaging-limit use now (in a fleet, read from the shared count); undefined for an unknown tenant. */
  tierUse(tenantId: string): Promise<TierUse | undefined>;
  stats(): PolicyStats;
  /** Writes pending write-behind state now. */
  flush(): void;
  close(): void;
}
