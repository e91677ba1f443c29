/**
 * Repeated-content tracking: per (scope, content fingerprint), distinct recipients that got it
 * within windowMs (ring of 33: 32 buckets of windowMs/32). A recipient counts from its first
 * charge in the window (no refresh: re-sending the same text to the same person neither costs
 * nor extends). Shrinking windowMs for a live group re-buckets conservatively (ring.ts).
 *
 * Scratch: scope bytes, fingerprint bytes, recipient bytes, back to back. Keys chain seeds:
 * s = xxh64(scope); group = xxh64(fingerprint, s); member = xxh64(recipient, group).
 */
import { clampNow, keyAt } from './scratch';
import { distinctCharge } from './distinct';
import { REPEAT_RING, table, T_REPEAT_GROUP, T_REPEAT_MEMBER } from './layout';

export function repeatCharge(scopeLen: u32, fingerprintLen: u32, recipientLen: u32, windowMs: f64, maxRecipients: f64, nowMs: f64): f64 {
  const scope = keyAt(0, scopeLen, 0);
  const group = keyAt(scopeLen, fingerprintLen, scope);
  const member = keyAt(scopeLen + fingerprintLen, recipientLen, group);
  return distinctCharge(table(T_REPEAT_GROUP), table(T_REPEAT_MEMBER), REPEAT_RING, false, group, member, windowMs, maxRecipients, clampNow(nowMs));
}
