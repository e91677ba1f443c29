/**
 * Sliding-window counters (burst accounting, warm-up caps): events per key in the last
 * windowMs, bucketed in WINDOW_RING - 1 = 128 buckets of windowMs/128 (ring.ts): an event
 * counts for between windowMs and windowMs × 129/128, so the count never undercounts a true
 * sliding window and overcounts by at most one bucket (< 1 % of the window's events at a steady
 * rate; test/core/window-error.test.ts measures it).
 *
 * take = count it if count < limit, else refuse (charge nothing) with the ms until enough of
 * the oldest buckets have left for one slot to be free. Keys: JS hash (hi, lo), src/core/keyhash.ts.
 */
import { clampNow, fullRetryMs, keyOf } from './scratch';
import { find, FULL, inserted } from './table';
import { ringAdd, ringAdvance, ringInit, ringTotal, ringWaitFor } from './ring';
import { table, T_WINDOW, WINDOW_RING } from './layout';

export function windowCount(hi: u32, lo: u32, windowMs: f64, nowMs: f64): f64 {
  const now = clampNow(nowMs);
  const p = find(table(T_WINDOW), keyOf(hi, lo), now, false);
  if (p == 0) return 0;
  ringAdvance(p, WINDOW_RING, windowMs, now);
  return <f64>ringTotal(p);
}

export function windowTake(hi: u32, lo: u32, windowMs: f64, limit: f64, nowMs: f64): f64 {
  const now = clampNow(nowMs);
  const p = find(table(T_WINDOW), keyOf(hi, lo), now, true);
  if (p == FULL) return fullRetryMs;
  if (inserted) ringInit(p, WINDOW_RING, windowMs, now);
  const cur = ringAdvance(p, WINDOW_RING, windowMs, now);
  const total = ringTotal(p);
  if (<f64>total >= limit) return ringWaitFor(p, WINDOW_RING, <f64>total - limit + 1, now);
  ringAdd(p, WINDOW_RING, cur, 1);
  return 0;
}
