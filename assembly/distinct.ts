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
 * A refusal (limit, a full table, or the scope's share) charges nothing.
 *
 * Shares (per-tenant isolation): a scope (tenant) may hold at most `members.share` live members.
 * The scope's count is a ring of its own, on the same geometry as its groups: the group ring
 * itself when the group is the scope (unique recipients), else the scope's entry in `scopes`
 * (repeated content: one ring per tenant over all its fingerprints). A scope at its share gets
 * the safe refusal (fullRetryMs) and `shareFull` counts it; the table never fills for the others
 * as long as the shares sum to at most its keys (the table has 2 slots per key).
 */
import { fullRetryMs } from './scratch';
import { Desc, find, FULL, inserted, NO_SHARE, removeEntry } from './table';
import { bucketMsOf, ringAdd, ringAdvance, ringExitMs, ringInit, ringTakeBack, ringTotal, ringWaitFor } from './ring';

/**
 * `scopes` = null: the group is the scope. Else `scopeKey` keys the scope's ring in `scopes`
 * (a table apart from `groups`: a probe in one table never moves entries of the other).
 */
/** True when the latest charge was refused for its scope's share (read through lastShareRefused). */
let shareRefused = false;

export function lastShareRefused(): u32 {
  return shareRefused ? 1 : 0;
}

export function distinctCharge(groups: Desc, members: Desc, scopes: Desc | null, ring: u32, refresh: bool, scopeKey: u64, groupKey: u64, memberKey: u64, windowMs: f64, limit: f64, nowMs: f64): f64 {
  shareRefused = false;
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
  let s: usize = g;
  let scopeCur = cur;
  if (scopes !== null) {
    s = find(scopes, scopeKey, nowMs, true);
    if (s == FULL) return fullRetryMs;
    if (inserted) ringInit(s, ring, windowMs, nowMs);
    scopeCur = ringAdvance(s, ring, windowMs, nowMs);
  }
  if (members.share != NO_SHARE && ringTotal(s) >= members.share) {
    members.shareFull += 1;
    shareRefused = true;
    return fullRetryMs;
  }
  m = find(members, memberKey, nowMs, true);
  if (m == FULL) return fullRetryMs;
  ringAdd(g, ring, cur, 1);
  if (s != g) ringAdd(s, ring, scopeCur, 1);
  store<f64>(m, ringExitMs(g, ring, cur), 8);
  return 0;
}

/** Give a live member's slot back (its charge leaves its bucket now, in its group and its scope). */
export function distinctRelease(groups: Desc, members: Desc, scopes: Desc | null, ring: u32, scopeKey: u64, groupKey: u64, memberKey: u64, nowMs: f64): void {
  const m = find(members, memberKey, nowMs, false);
  if (m == 0) return;
  const exitMs = load<f64>(m, 8);
  removeEntry(members, m);
  if (scopes !== null) {
    const s = find(scopes, scopeKey, nowMs, false);
    if (s != 0) {
      ringAdvance(s, ring, load<f64>(s, 16), nowMs);
      ringTakeBack(s, ring, <i64>(exitMs / bucketMsOf(s, ring)) - <i64>ring);
    }
  }
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
