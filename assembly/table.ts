/**
 * Fixed-capacity open-addressing hash tables in linear memory (linear probing, backward-shift
 * deletion). Every table is sized at init and never grows; nothing is allocated afterwards.
 *
 * Descriptor (48 bytes, one per table, after the scratch region):
 *
 *   +0 base u32 | +4 cap u32 | +8 entryBytes u32 | +12 kind u32 | +16 count u32 | +20 ring u32 | +24 full f64
 *   +32 share u32 | +36 pad | +40 shareFull f64
 *
 * share: live entries one scope (tenant) may hold in a member table (distinct.ts); NO_SHARE = no bound.
 *
 * Entry: the first 8 bytes are the u64 key (0 = empty slot), the rest belongs to the algorithm:
 *
 *   KIND_DEADLINE  key u64 | deadline f64                    (GCRA TAT, member exit time)
 *   KIND_RING      key u64 | head i64 | windowMs f64 | total u32 | pad | counts u32[ring]
 *
 * Expiry: an entry whose state is fully refilled/expired (deadline <= now; ring total 0 or all
 * buckets out of the window) is equivalent to an absent key. A probe that meets one deletes it
 * on the spot (backward shift keeps clusters short without tombstones), so idle keys free
 * their slots without a sweeper.
 *
 * Home slot = high 32 bits of the key scaled to the capacity (multiply-shift), so capacities
 * need not be powers of two: 2 slots per configured key → 32 bytes per GCRA key.
 * Probes are bounded (MAX_PROBE); when an insert finds no empty, matching or expired slot within
 * the bound the table is "full": the caller answers the safe refusal and `full` counts it.
 */
@inline export const KIND_DEADLINE: u32 = 0;
@inline export const KIND_RING: u32 = 1;
@inline export const DESC_BYTES: u32 = 48;
@inline export const NO_SHARE: u32 = 0xffff_ffff;
// Longest probe before declaring full: keeps the worst case bounded. Measured: 10^6 live keys
// in a table sized for 10^6 (load 0.5) → 0 full; 2×10^6 offered → 97 % filled, the rest refused.
@inline const MAX_PROBE: u32 = 128;
/** find() answer when the table is full: never a valid entry address (entries are past the scratch). */
@inline export const FULL: usize = 1;

@unmanaged export class Desc {
  base: u32;
  cap: u32;
  entryBytes: u32;
  kind: u32;
  count: u32;
  ring: u32;
  full: f64;
  share: u32;
  pad: u32;
  shareFull: f64;
}

// Ring entry field offsets (shared with ring.ts).
@inline export const R_HEAD: u32 = 8;
@inline export const R_WINDOW: u32 = 16;
@inline export const R_TOTAL: u32 = 24;
@inline export const R_COUNTS: u32 = 32;

/** True when find() inserted the key it returned (the caller initialises the entry). */
export let inserted = false;

@inline function home(d: Desc, key: u64): u32 {
  return <u32>(((key >> 32) * <u64>d.cap) >> 32);
}

@inline function slot(d: Desc, i: u32): usize {
  return <usize>d.base + <usize>i * <usize>d.entryBytes;
}

/** Address of the home slot of `key` (where its probe starts). */
@inline export function homeSlot(d: Desc, key: u64): usize {
  return slot(d, home(d, key));
}

function expired(d: Desc, p: usize, nowMs: f64): bool {
  if (d.kind == KIND_DEADLINE) return load<f64>(p, 8) <= nowMs;
  if (load<u32>(p, R_TOTAL) == 0) return true;
  const bucketMs = load<f64>(p, R_WINDOW) / <f64>(d.ring - 1);
  return <i64>Math.floor(nowMs / bucketMs) - load<i64>(p, R_HEAD) >= <i64>d.ring;
}

/** Delete slot i, shifting later entries of its cluster back so no probe sequence breaks. */
export function removeAt(d: Desc, i: u32): void {
  const cap = d.cap;
  let hole = i;
  let j = i;
  // A cluster ends at an empty slot; a table with none ends after one lap.
  for (let step: u32 = 1; step < cap; step++) {
    j = j + 1 == cap ? 0 : j + 1;
    const pj = slot(d, j);
    const k = load<u64>(pj);
    if (k == 0) break;
    const h = home(d, k);
    // The entry at j may fill the hole iff its home is not cyclically within (hole, j].
    const distHome = j >= h ? j - h : j + cap - h;
    const distHole = j >= hole ? j - hole : j + cap - hole;
    if (distHome >= distHole) {
      memory.copy(slot(d, hole), pj, d.entryBytes);
      hole = j;
    }
  }
  store<u64>(slot(d, hole), 0);
  d.count--;
}

export function removeEntry(d: Desc, p: usize): void {
  removeAt(d, <u32>((p - <usize>d.base) / <usize>d.entryBytes));
}

/**
 * Address of the live entry for `key`; 0 if absent and !insert; FULL if it had to be inserted
 * and no slot was free. On insert only the key is written and `inserted` is set.
 */
export function find(d: Desc, key: u64, nowMs: f64, insert: bool): usize {
  inserted = false;
  const cap = d.cap;
  let i = home(d, key);
  let probes: u32 = 0;
  while (probes < MAX_PROBE) {
    const p = slot(d, i);
    const k = load<u64>(p);
    if (k == 0) {
      if (!insert) return 0;
      store<u64>(p, key);
      d.count++;
      inserted = true;
      return p;
    }
    if (expired(d, p, nowMs)) {
      removeAt(d, i); // slot i now holds the next entry of the cluster (or is empty): look again
      continue;
    }
    if (k == key) return p;
    i = i + 1 == cap ? 0 : i + 1;
    probes++;
  }
  if (!insert) return 0;
  d.full += 1;
  return FULL;
}
