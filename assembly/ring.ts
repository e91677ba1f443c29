/**
 * Bucketed time windows: the counting part of sliding-window counters, unique-recipient and
 * repeated-content windows. A window of W ms is a ring of R buckets, each W/(R-1) ms wide;
 * bucket idx = floor(now / bucketMs) counts the events of its interval, and buckets
 * head-(R-1) .. head are live. So an event counts for at least W and at most W + W/(R-1) ms:
 * the bucketing errs on the safe side (it never forgets an event early).
 *
 * Entry (after the table key):  head i64 | windowMs f64 | total u32 | pad | counts u32[R]
 *
 * When a call brings a different windowMs the ring first expires by its old geometry, then
 * moves everything still counted into the current bucket of the new geometry (conservative:
 * nothing is forgotten early; limits can change at any time).
 */
import { R_COUNTS, R_HEAD, R_TOTAL, R_WINDOW } from './table';

@inline function countAt(p: usize, ring: u32, idx: i64): usize {
  return p + R_COUNTS + (<usize>(idx % <i64>ring) << 2);
}

@inline export function bucketMsOf(p: usize, ring: u32): f64 {
  return load<f64>(p, R_WINDOW) / <f64>(ring - 1);
}

export function ringInit(p: usize, ring: u32, windowMs: f64, nowMs: f64): void {
  store<i64>(p, <i64>Math.floor(nowMs / (windowMs / <f64>(ring - 1))), R_HEAD);
  store<f64>(p, windowMs, R_WINDOW);
  store<u32>(p, 0, R_TOTAL);
  memory.fill(p + R_COUNTS, 0, <usize>ring << 2);
}

/** Expire buckets that left the window (and re-bucket on a window change); returns the current bucket. */
export function ringAdvance(p: usize, ring: u32, windowMs: f64, nowMs: f64): i64 {
  let head = load<i64>(p, R_HEAD);
  const cur = <i64>Math.floor(nowMs / bucketMsOf(p, ring));
  if (cur > head) {
    const steps = cur - head;
    if (steps >= <i64>ring) {
      memory.fill(p + R_COUNTS, 0, <usize>ring << 2);
      store<u32>(p, 0, R_TOTAL);
    } else {
      let total = load<u32>(p, R_TOTAL);
      for (let s: i64 = 1; s <= steps; s++) {
        const c = countAt(p, ring, head + s);
        total -= load<u32>(c);
        store<u32>(c, 0);
      }
      store<u32>(p, total, R_TOTAL);
    }
    head = cur;
    store<i64>(p, head, R_HEAD);
  }
  if (windowMs != load<f64>(p, R_WINDOW)) {
    store<f64>(p, windowMs, R_WINDOW);
    head = <i64>Math.floor(nowMs / bucketMsOf(p, ring));
    memory.fill(p + R_COUNTS, 0, <usize>ring << 2);
    store<u32>(countAt(p, ring, head), load<u32>(p, R_TOTAL));
    store<i64>(p, head, R_HEAD);
  }
  return head;
}

@inline export function ringTotal(p: usize): u32 {
  return load<u32>(p, R_TOTAL);
}

/** Add one event (delta +1) or take one back (-1) in bucket idx. */
export function ringAdd(p: usize, ring: u32, idx: i64, delta: i32): void {
  const c = countAt(p, ring, idx);
  store<u32>(c, load<u32>(c) + delta);
  store<u32>(p, load<u32>(p, R_TOTAL) + delta, R_TOTAL);
}

/**
 * Take one event back from bucket idx if that bucket is live and counts one: a scope's ring may
 * have been re-bucketed by a window change since the charge (everything moved to one bucket),
 * and then the charge is left to leave with the window (conservative: counted a little longer).
 */
export function ringTakeBack(p: usize, ring: u32, idx: i64): void {
  const head = load<i64>(p, R_HEAD);
  if (idx > head || idx <= head - <i64>ring) return;
  const c = countAt(p, ring, idx);
  if (load<u32>(c) == 0) return;
  ringAdd(p, ring, idx, -1);
}

/** Time (ms) at which bucket idx leaves the window. */
@inline export function ringExitMs(p: usize, ring: u32, idx: i64): f64 {
  return <f64>(idx + <i64>ring) * bucketMsOf(p, ring);
}

/** Whole ms until `need` counted events have left the window (the whole window if they never would). */
export function ringWaitFor(p: usize, ring: u32, need: f64, nowMs: f64): f64 {
  const head = load<i64>(p, R_HEAD);
  let acc: u32 = 0;
  for (let j = head - <i64>(ring - 1); j <= head; j++) {
    acc += load<u32>(countAt(p, ring, j));
    if (<f64>acc >= need) return Math.ceil(ringExitMs(p, ring, j) - nowMs);
  }
  return Math.ceil(ringExitMs(p, ring, head) - nowMs);
}
