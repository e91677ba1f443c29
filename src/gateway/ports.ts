/**
 * What ingress needs from the rest of the gateway, as small seams. The dispatcher and the policy
 * engine satisfy these structurally; tests and the app wire real implementations.
 */
import type { MessageRecord, RecordedError } from '../store/types.js';

/** The final outcome of a message, for `Prefer: wait`. */
export interface SendOutcome {
  state: 'sent' | 'failed' | 'expired' | 'rejected';
  /** HTTP status the upstream answered with (0 when the message ended without an upstream answer). */
  status: number;
  /** The upstream's response body as received ('' when none). */
  bodyText: string;
  error: RecordedError | null;
}

export interface DispatchPort {
  submit(record: MessageRecord): void;
  /** How long a message enqueued now on this number would wait before its turn. */
  estimateWaitMs(phoneNumberId: string, ahead?: { priority?: 0 | 1; to?: string }): number;
  /** Messages waiting on this number now (the queue caps compare it with limits.maxQueuedPerNumber). */
  queued(phoneNumberId: string): number;
  waitForOutcome(id: string, timeoutMs: number): Promise<SendOutcome | null>;
}

export interface LimitChange {
  mps?: number;
  burst?: number;
  headroom?: number;
}

/** Run-time control of a number's lane (admin API). */
export interface ControlPort {
  setLimits(phoneNumberId: string, change: LimitChange): void;
  pause(phoneNumberId: string): void;
  resume(phoneNumberId: string): void;
  pauseTenant(tenantId: string): void;
  resumeTenant(tenantId: string): void;
}

/** What the policy engine sees of a send at admission. */
export interface AdmitInput {
  tenantId: string;
  phoneNumberId: string;
  /** E.164 digits ('' for mark-as-read). */
  to: string;
  /** The parsed Cloud API body as the client sent it. */
  body: Record<string, unknown>;
  /** authentication | utility | marketing | service | unknown (template without a category header). */
  category: string;
  nowMs: number;
}

/** An admitted send: what it charged, so it can be given back if the send never happens. */
export interface Admission {
  /** Non-blocking findings (e.g. optIn: "warn"), reported to the client in the 202 body. */
  readonly warnings: readonly string[];
  /** Gives back everything admit() charged (tier slot, repeat slot). Idempotent. */
  release(): void;
}

export interface PolicyPort {
  /** Admits (charging its budgets) or throws a GatewayError (422/429) and charges nothing. */
  admit(input: AdmitInput): Admission;
}

const NO_WARNINGS: readonly string[] = Object.freeze([]);
const NOTHING_CHARGED: Admission = Object.freeze({ warnings: NO_WARNINGS, release() {} });

/** A PolicyPort that admits everything and charges nothing (policies off). */
export const allowAll: PolicyPort = { admit: () => NOTHING_CHARGED };
