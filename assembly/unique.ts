/**
 * Rolling 24 h unique-recipient window per scope (a tenant's portfolio; Meta's messaging limit).
 * Group = scope, member = (scope, recipient), ring of 1441 one-minute buckets: a recipient
 * counts from its latest charge for between 24 h and 24 h + 1 min. Re-charging a counted
 * recipient costs nothing and refreshes it (distinct recipients messaged in the moving 24 h).
 *
 * Keys are JS hashes (src/core/keyhash.ts) as u32 pairs: scope = hash(scope);
 * member = hash(recipient, seeded with the scope hash).
 */
import { clampNow, keyOf } from './scratch';
import { distinctCharge, distinctCount, distinctRelease } from './distinct';
import { table, T_UNIQUE_MEMBER, T_UNIQUE_SCOPE, UNIQUE_RING, UNIQUE_WINDOW_MS } from './layout';

export function uniqueCharge(scopeHi: u32, scopeLo: u32, memberHi: u32, memberLo: u32, limit: f64, nowMs: f64): f64 {
  const scope = keyOf(scopeHi, scopeLo);
  const member = keyOf(memberHi, memberLo);
  const waitMs = distinctCharge(table(T_UNIQUE_SCOPE), table(T_UNIQUE_MEMBER), null, UNIQUE_RING, true, scope, scope, member, UNIQUE_WINDOW_MS, limit, clampNow(nowMs));
  return waitMs < 0 ? 0 : waitMs; // already counted: admitted (the tier's holders are kept in JS)
}

export function uniqueRelease(scopeHi: u32, scopeLo: u32, memberHi: u32, memberLo: u32, nowMs: f64): void {
  const scope = keyOf(scopeHi, scopeLo);
  const member = keyOf(memberHi, memberLo);
  distinctRelease(table(T_UNIQUE_SCOPE), table(T_UNIQUE_MEMBER), null, UNIQUE_RING, scope, scope, member, clampNow(nowMs));
}

export function uniqueCount(scopeHi: u32, scopeLo: u32, nowMs: f64): f64 {
  return distinctCount(table(T_UNIQUE_SCOPE), UNIQUE_RING, keyOf(scopeHi, scopeLo), UNIQUE_WINDOW_MS, clampNow(nowMs));
}
