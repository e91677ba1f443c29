/**
 * Repeated-content tracking: per (scope, content fingerprint), distinct recipients that got it
 * within windowMs (ring of 33: 32 buckets of windowMs/32). A recipient counts from its first
 * charge in the window (no refresh: re-sending the same text to the same person neither costs
 * nor extends). Shrinking windowMs for a live group re-buckets conservatively (ring.ts).
 *
 * Keys are JS hashes (src/core/keyhash.ts) as u32 pairs, chaining seeds: s = hash(scope);
 * group = hash(fingerprint, seeded with s); member = hash(recipient, seeded with group).
 * The scope's own ring (T_REPEAT_SCOPE, keyed by s) counts its members over all its groups: its
 * share of the member table (distinct.ts).
 */
import { clampNow, keyOf } from './scratch';
import { distinctCharge, distinctRelease } from './distinct';
import { REPEAT_RING, table, T_REPEAT_GROUP, T_REPEAT_MEMBER, T_REPEAT_SCOPE } from './layout';

/** 0 = admitted (counted now, or already counted); > 0 = refused, ms until the window frees a slot. */
export function repeatCharge(scopeHi: u32, scopeLo: u32, groupHi: u32, groupLo: u32, memberHi: u32, memberLo: u32, windowMs: f64, maxRecipients: f64, nowMs: f64): f64 {
  const waitMs = repeatTake(scopeHi, scopeLo, groupHi, groupLo, memberHi, memberLo, windowMs, maxRecipients, nowMs);
  return waitMs < 0 ? 0 : waitMs;
}

/** As repeatCharge, telling the two admissions apart: 0 = counted now (repeatRelease gives it back), -1 = already counted. */
export function repeatTake(scopeHi: u32, scopeLo: u32, groupHi: u32, groupLo: u32, memberHi: u32, memberLo: u32, windowMs: f64, maxRecipients: f64, nowMs: f64): f64 {
  const scope = keyOf(scopeHi, scopeLo);
  const group = keyOf(groupHi, groupLo);
  const member = keyOf(memberHi, memberLo);
  return distinctCharge(table(T_REPEAT_GROUP), table(T_REPEAT_MEMBER), table(T_REPEAT_SCOPE), REPEAT_RING, false, scope, group, member, windowMs, maxRecipients, clampNow(nowMs));
}

/** Gives back a charge repeatTake answered 0 for (the send was not accepted after all). */
export function repeatRelease(scopeHi: u32, scopeLo: u32, groupHi: u32, groupLo: u32, memberHi: u32, memberLo: u32, nowMs: f64): void {
  const scope = keyOf(scopeHi, scopeLo);
  const group = keyOf(groupHi, groupLo);
  const member = keyOf(memberHi, memberLo);
  distinctRelease(table(T_REPEAT_GROUP), table(T_REPEAT_MEMBER), table(T_REPEAT_SCOPE), REPEAT_RING, scope, group, member, clampNow(nowMs));
}
