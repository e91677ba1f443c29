/**
 * What the dispatcher does with an upstream answer: cloud-api.md §4 ("Error codes: meaning and what
 * the gateway should do") as data. Classify by the Graph `error.code`, never by title; the HTTP status
 * only decides for codes the table does not name (429 → back off the number, 5xx → retry, anything
 * else → fail).
 */
import type { UpstreamResult } from './types.js';

export type Reaction =
  /** Delivered to the upstream; record the wamid. */
  | 'sent'
  /** Number throughput exceeded (130429): lower the number's rate, retry the message. */
  | 'slow-number'
  /** Pair rate (131056): park only that recipient 4^n s; the number keeps flowing. */
  | 'backoff-pair'
  /** Number in maintenance (131057, e.g. a throughput upgrade): pause the number ~60 s, then probe with one send. */
  | 'pause-probe'
  /**
   * A Graph rate limit on what the number's requests go through (80007 WABA, 613 per endpoint, a
   * bare HTTP 429): the number waits, twice as long per consecutive answer, then probes with one
   * send. The message retries; throttled attempts never count against maxAttempts.
   */
  | 'backoff-number'
  /** A Graph rate limit on the app or the token (4 app, 17 user, 32 page): every number of the tenant waits, then probes. */
  | 'backoff-tenant'
  /** Transient: exponential backoff with full jitter, bounded by maxAttempts. */
  | 'retry'
  /** The number is restricted or blocked: stop its lane until resumed through the API. */
  | 'pause-number'
  /** Bad or expired token: stop every lane of the tenant until resumed. */
  | 'pause-tenant'
  /** Per-user marketing cap (131049): hold that recipient for a day; retrying sooner extends the cap. */
  | 'defer-user'
  /** Will not succeed by repeating: failed, with the upstream error kept. */
  | 'fail';

/** Graph codes with a reaction other than the default. Everything absent falls back by HTTP status. */
export const REACTION_BY_CODE: ReadonlyMap<number, Reaction> = new Map<number, Reaction>([
  [130429, 'slow-number'],
  [131056, 'backoff-pair'],
  [131057, 'pause-probe'],
  // unknown, overloaded, temporarily unavailable
  [131000, 'retry'],
  [131016, 'retry'],
  [133004, 'retry'],
  // Graph "unknown" / "service down"
  [1, 'retry'],
  [2, 'retry'],
  // spam rate limit, policy block, account locked
  [131048, 'pause-number'],
  [368, 'pause-number'],
  [131031, 'pause-number'],
  [190, 'pause-tenant'],
  // Graph rate limits (cloud-api.md §4, §7). None comes with a Retry-After (§1): exponential back-off.
  // Whose budget ran out decides who waits. 4 (app), 17 (user) and 32 (page) count the calls of an
  // app or token, which a tenant's numbers share (one business, one system-user token): its other
  // numbers' sends would hit the same limit and keep it exhausted ("app-wide back-off until usage < 100%").
  // 613 is "usually a per-endpoint cap" and the endpoint is the number's own /{phone-number-id}/messages.
  // 80007 is the WABA's limit; sendgate does not know which of a tenant's numbers share a WABA
  // (a tenant may have several), so the number backs off and each sibling learns it from its own
  // first answer rather than stalling numbers of other WABAs.
  [4, 'backoff-tenant'],
  [17, 'backoff-tenant'],
  [32, 'backoff-tenant'],
  [613, 'backoff-number'],
  [80007, 'backoff-number'],
  [131049, 'defer-user'],
  // answered with a 500 but will not get better by repeating (registration / certificate error)
  [131045, 'fail'],
]);

export function reactionForCode(code: number, httpStatus: number): Reaction {
  const known = REACTION_BY_CODE.get(code);
  if (known !== undefined) return known;
  // A 429 without a code the table names (a proxy's or a capacity limiter's, §2): too fast, not wrong.
  if (httpStatus === 429) return 'backoff-number';
  return httpStatus >= 500 ? 'retry' : 'fail';
}

export function classify(result: UpstreamResult): Reaction {
  switch (result.kind) {
    case 'ok':
      return 'sent';
    case 'network':
      return 'retry';
    case 'error':
      return reactionForCode(result.code, result.status);
  }
}
