/**
 * Distinct members per group within a bucketed window — the shared engine of the unique-recipient
 * window (group = scope, member = recipient) and repeated-content tracking (group = scope +
 * fingerprint, member = recipient).
 *
 * Two tables: groups (ring entries, ring.ts) count charges per bucket; members (16 bytes:
 * key u64 | exitMs f64) remember when each member's charge leaves the window, so a member
 * already counted costs nothing. A member is live iff exitMs > now, which is exactly when its
 * bucket is still in its group's ring.
 *
 * charge: member live → -1, nothing new counted (with `refresh`, its charge moves to the current
 *         bucket: "counted while charged within the window"); else if the group's total >= limit
 *         → refuse, ms until enough buckets leave; else count it in the current bucket → 0.
 *         The two admissions differ so that a caller can give back exactly what it counted.
 * A refusal (limit, or a full table) charges nothing.
 */
import { fullRetryMs } from './scratch';
import { Desc, find, FULL, inserted, removeEntry } from './table';
import { bucketMsOf, ringAdd, ringAdvance, ringExitMs, ringInit, ringTotal, ringWaitFor } from './ring';

export function distinctCharge(groups: Desc, members: Desc, ring: u32, refresh: bool, groupKey: u64, memberKey: u64, windowMs: f64, limit: f64, nowMs: f64): f64 {
  const g = find(groups, groupKey, nowMs, true);
  if (g == FULL) return fullRetryMs;
  if (inserted) ringInit(g, ring, windowMs, nowMs);
  const cur = ringAdvance(g, ring, windowMs, nowMs);
  let m = find(members, memberKey, nowMs, false);
  if (m != 0) {
    if (refresh) {
      const was = <i64>(load<f64>(m, 8) / bucketMsOf(g, ring)) - <i64>ring;
      if (was != cur) {
        ringAdd(g, ring, was, -1);
        ringAdd(g, ring, cur, 1);
      }
      store<f64>(m, ringExitMs(g, ring, cur), 8);
    }
    return -1;
  }
  const total = <f64>ringTotal(g);
  if (total >= limit) return ringWaitFor(g, ring, total - limit + 1, nowMs);
  m = find(members, memberKey, nowMs, true);
  if (m == FULL) return fullRetryMs;
  ringAdd(g, ring, cur, 1);
  store<f64>(m, ringExitMs(g, ring, cur), 8);
  return 0;
}

/** Give a live member's slot back (its charge leaves its bucket now). */
export function distinctRelease(groups: Desc, members: Desc, ring: u32, groupKey: u64, memberKey: u64, nowMs: f64): void {
  const m = find(members, memberKey, nowMs, false);
  if (m == 0) return;
  const exitMs = load<f64>(m, 8);
  removeEntry(members, m);
  const g = find(groups, groupKey, nowMs, false);
  if (g == 0) return;
  ringAdvance(g, ring, load<f64>(g, 16), nowMs);
  ringAdd(g, ring, <i64>(exitMs / bucketMsOf(g, ring)) - <i64>ring, -1);
}

export function distinctCount(groups: Desc, ring: u32, groupKey: u64, windowMs: f64, nowMs: f64): f64 {
  const g = find(groups, groupKey, nowMs, false);
  if (g == 0) return 0;
  ringAdvance(g, ring, windowMs, nowMs);
  return <f64>ringTotal(g);
}
