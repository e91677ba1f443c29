/**
 * GCRA buckets (generic cell rate algorithm): one theoretical arrival time (TAT, f64 ms) per key.
 * Rate and burst come with every call, so limits can change at any time.
 *
 *   interval = 1000 / ratePerSec
 *   tat      = max(stored TAT, now)           (absent or idle key: now)
 *   allowAt  = tat + interval - burst * interval
 *   now >= allowAt → conform: TAT := tat + interval (take) — else refuse, wait ceil(allowAt - now)
 *
 * A key whose TAT <= now is fully refilled: equivalent to absent, and its slot is reclaimed.
 * check never inserts, so it answers 0 for an absent key even when the table is full; the take
 * that follows gets the safe refusal (fullRetryMs) and counts it.
 * Entry (16 bytes): key u64 | TAT f64. Keys are 64-bit hashes of the key strings, computed in JS
 * (src/core/keyhash.ts) and passed as two u32 (hi, lo).
 */
import { clampNow, fullRetryMs, keyOf, OUTPUT_PTR, SCRATCH_PTR } from './scratch';
import { Desc, find, FULL, homeSlot, inserted } from './table';
import { gcraTable } from './layout';

// Float sums of intervals can land a hair past an exact boundary; 1e-6 ms cannot change a
// whole-ms answer (mirrors GCRA_EPSILON_MS in src/core/types.ts).
@inline const EPSILON_MS: f64 = 1e-6;

function decide(d: Desc, key: u64, ratePerSec: f64, burst: f64, nowMs: f64, charge: bool): f64 {
  const p = find(d, key, nowMs, charge);
  if (p == FULL) return fullRetryMs;
  const intervalMs = 1000 / ratePerSec;
  let tat = nowMs;
  if (p != 0) {
    if (inserted) store<f64>(p, nowMs, 8); // a fresh slot starts fully refilled
    const stored = load<f64>(p, 8);
    if (stored > nowMs) tat = stored;
  }
  const newTat = tat + intervalMs;
  const allowAt = newTat - burst * intervalMs;
  if (allowAt - nowMs > EPSILON_MS) return Math.ceil(allowAt - nowMs);
  if (charge) store<f64>(p, newTat, 8);
  return 0;
}

// Kept so the touch loads of gcraTakeMany are not optimised away.
let touched: u64 = 0;
// Keys per touch group: enough overlapping misses, slots still in L1 when decided.
@inline const TOUCH_GROUP: u32 = 64;

export function gcraCheck(hi: u32, lo: u32, ratePerSec: f64, burst: f64, nowMs: f64): f64 {
  return decide(gcraTable(), keyOf(hi, lo), ratePerSec, burst, clampNow(nowMs), false);
}

export function gcraTake(hi: u32, lo: u32, ratePerSec: f64, burst: f64, nowMs: f64): f64 {
  return decide(gcraTable(), keyOf(hi, lo), ratePerSec, burst, clampNow(nowMs), true);
}

/**
 * Batch take: `count` key hashes in the input area as u32 pairs (hi at SCRATCH_PTR + 8*i, lo at
 * +4). Answer i is written as f64 at OUTPUT_PTR + 8*i. Same meaning as gcraTake, in order.
 * JS keeps count <= min(INPUT_BYTES, OUTPUT_BYTES) / 8.
 */
export function gcraTakeMany(count: u32, ratePerSec: f64, burst: f64, nowMs: f64): void {
  const d = gcraTable();
  const now = clampNow(nowMs);
  for (let g: u32 = 0; g < count; g += TOUCH_GROUP) {
    const end = min(count, g + TOUCH_GROUP);
    // Read the group's home slots first: independent loads whose cache misses overlap, so the
    // decisions below find their slots in cache (a table of 10^5+ keys is bigger than the caches).
    let t: u64 = 0;
    for (let i = g; i < end; i++) t ^= load<u64>(homeSlot(d, keyOf(load<u32>(SCRATCH_PTR + (<usize>i << 3)), 0)));
    touched = t;
    for (let i = g; i < end; i++) {
      const at = <usize>i << 3;
      const key = keyOf(load<u32>(SCRATCH_PTR + at), load<u32>(SCRATCH_PTR + at, 4));
      store<f64>(OUTPUT_PTR + at, decide(d, key, ratePerSec, burst, now, true));
    }
  }
}
