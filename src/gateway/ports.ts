/**
 * What ingress needs from the rest of the gateway, as small seams. The dispatcher and the policy
 * engine satisfy these structurally; tests and the app wire real implementations.
 */
import type { MessageRecord } from '../store/types.js';

/** The upstream's final answer for a message, for `Prefer: wait`. */
export interface SendOutcome {
  /** HTTP status the upstream answered with (0 when the message ended without an upstream answer). */
  status: number;
  /** The upstream's response body as received. */
  bodyText: string;
}

export interface DispatchPort {
  submit(record: MessageRecord): void;
  /** How long a message enqueued now on this number would wait before its turn. */
  estimateWaitMs(phoneNumberId: string): number;
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
}
