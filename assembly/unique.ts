/**
 * Rolling 24 h unique-recipient window per scope (a tenant's portfolio; Meta's messaging limit).
 * Group = scope, member = (scope, recipient), ring of 1441 one-minute buckets: a recipient
 * counts from its latest charge for between 24 h and 24 h + 1 min. Re-charging a counted
 * recipient costs nothing and refreshes it (distinct recipients messaged in the moving 24 h).
 *
 * Scratch: scope bytes at 0, recipient bytes right after. Keys: scope = xxh64(scope);
 * member = xxh64(recipient, seed = scope key).
 */
import { clampNow, keyAt } from './scratch';
import { distinctCharge, distinctCount, distinctRelease } from './distinct';
import { table, T_UNIQUE_MEMBER, T_UNIQUE_SCOPE, UNIQUE_RING, UNIQUE_WINDOW_MS } from './layout';

export function uniqueCharge(scopeLen: u32, recipientLen: u32, limit: f64, nowMs: f64): f64 {
  const scope = keyAt(0, scopeLen, 0);
  const member = keyAt(scopeLen, recipientLen, scope);
  return distinctCharge(table(T_UNIQUE_SCOPE), table(T_UNIQUE_MEMBER), UNIQUE_RING, true, scope, member, UNIQUE_WINDOW_MS, limit, clampNow(nowMs));
}

export function uniqueRelease(scopeLen: u32, recipientLen: u32, nowMs: f64): void {
  const scope = keyAt(0, scopeLen, 0);
  const member = keyAt(scopeLen, recipientLen, scope);
  distinctRelease(table(T_UNIQUE_SCOPE), table(T_UNIQUE_MEMBER), UNIQUE_RING, scope, member, clampNow(nowMs));
}

export function uniqueCount(scopeLen: u32, nowMs: f64): f64 {
  return distinctCount(table(T_UNIQUE_SCOPE), UNIQUE_RING, keyAt(0, scopeLen, 0), UNIQUE_WINDOW_MS, clampNow(nowMs));
}
