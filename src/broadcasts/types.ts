/**
 * Shapes of a broadcast: one message to many recipients of a tenant from one number, planned
 * before it runs and paced through the number's lane like any send (DESIGN.md, "Broadcasts").
 */
import type { MessageState } from '../store/types.js';

/**
 * creating (recipients being written; never answered, removed at boot) → scheduled (not_before
 * ahead) → running → completed | cancelled.
 */
export type BroadcastState = 'creating' | 'scheduled' | 'running' | 'completed' | 'cancelled';

export const ACTIVE_STATES: ReadonlySet<BroadcastState> = new Set(['scheduled', 'running']);

/** A recipient's progress, stored as a small integer in broadcast_recipients.status. */
export const RecipientStatus = {
  pending: 0,
  queued: 1,
  sent: 2,
  failed: 3,
  expired: 4,
  rejected: 5,
  cancelled: 6,
} as const;
export type RecipientStatusName = keyof typeof RecipientStatus;
export const STATUS_NAMES: readonly RecipientStatusName[] = ['pending', 'queued', 'sent', 'failed', 'expired', 'rejected', 'cancelled'];

/** The recipient status a message's final state counts as (absent: not final). */
export const STATUS_OF_FINAL: Readonly<Partial<Record<MessageState, RecipientStatusName>>> = {
  sent: 'sent', delivered: 'sent', read: 'sent', failed: 'failed', expired: 'expired', rejected: 'rejected',
};

/** What the plan answers (the contract's `plan`); `excluded` may carry other policies' names beside the three named. */
export interface BroadcastPlan {
  recipients: number;
  excluded: { opted_out: number; invalid: number; duplicate: number } & Record<string, number>;
  new_unique_recipients: number;
  /** Slots of the tenant's messaging limit free now (null: unlimited). */
  messaging_limit_free: number | null;
  sendable_now: number;
  waiting_for_limit: number;
  eta_seconds: number;
  finish_at: string;
}

/** A recipient as stored: sendable ones only (the plan counted the excluded). */
export interface StoredRecipient {
  idx: number;
  /** E.164 digits. */
  to: string;
  toInput: string;
  /** The recipient's own `components` (JSON text), replacing the template's; null: the template's. */
  components: string | null;
}

/** The broadcast row. */
export interface BroadcastRecord {
  id: string;
  tenantId: string;
  phoneNumberId: string;
  idempotencyKey: string | null;
  bodyHash: string | null;
  /** The Cloud API body without `to`, as JSON text. */
  message: string;
  category: string;
  state: BroadcastState;
  plan: BroadcastPlan;
  /** Sendable recipients stored (idx 0 … total-1). */
  total: number;
  /** Next idx to admit into the queue. */
  cursor: number;
  counts: Record<RecipientStatusName, number>;
  /** The runner found the messaging limit full at its last try (the rest wait for slots). */
  waitingForLimit: boolean;
  /** In memory only: when the limit said its next slot frees (the ETA of the waiting ones). */
  slotFreeAtMs?: number;
  createdAtMs: number;
  notBeforeMs: number;
  deadlineAtMs: number;
  endedAtMs: number | null;
}
