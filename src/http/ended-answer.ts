/**
 * What the send route answers about a message that ended without being sent: the Graph error
 * envelope of what ended it, with the status a client acts on. Used for a `Prefer: wait` outcome
 * that carries no upstream body, and for an idempotent retry of a message that already ended: a
 * 202 "accepted" there would tell the client its message is on its way when it never will be.
 *
 * - failed, with the upstream's HTTP answer recorded: that status and Meta's code, as if the client
 *   had called Meta itself, so SDKs classify it the same way (131026 → do not retry; 190 → fix the
 *   token) instead of meeting a gateway-specific status;
 * - failed otherwise (network failures until maxAttempts, or an asynchronous failure reported by a
 *   status webhook): 502, with the recorded code;
 * - expired (never sent before its deadline): 504, with the answer that delayed it, if any;
 * - rejected (a policy refused it at departure, e.g. the recipient opted out while it was queued):
 *   422, as the same refusal at admission.
 * Sending it anyway needs a new request (a new Idempotency-Key): the key stays bound to this outcome.
 */
import { graphErrorBody, recordedErrorSpec, type GraphErrorBody } from '../errors.js';
import type { MessageState, RecordedError } from '../store/types.js';

/** Graph's "Something went wrong": the code when nothing more specific was recorded. */
const UNKNOWN_CODE = 131000;

export function endedAnswer(id: string, state: MessageState, error: RecordedError | null, traceId: string): { status: number; body: GraphErrorBody } {
  const status = endedStatus(state, error);
  const code = error !== null && error.code > 0 ? error.code : UNKNOWN_CODE;
  const title = error?.title || 'Something went wrong';
  const why = error === null ? 'without an upstream answer' : `${error.title}${error.details === '' ? '' : `: ${error.details}`}`;
  return { status, body: graphErrorBody(recordedErrorSpec(status, code, title), `Message ${id} ended ${state}: ${why}`, traceId) };
}

function endedStatus(state: MessageState, error: RecordedError | null): number {
  switch (state) {
    case 'expired':
      return 504;
    case 'rejected':
      return 422;
    default:
      return error !== null && error.httpStatus >= 400 && error.httpStatus < 600 ? error.httpStatus : 502;
  }
}
