/**
 * Linear-memory layout, fixed at init (memory grows once, then never again):
 *
 *   0            static data (__heap_base)
 *   SCRATCH_PTR  scratch region (scratch.ts), SCRATCH_BYTES
 *   DESC_PTR     7 table descriptors × 48 bytes (table.ts)
 *   tables       gcra | window | uniqueScope | uniqueMember | repeatGroup | repeatMember | repeatScope
 *                each 16-byte aligned, cap = 2 × configured keys (load <= 0.5)
 */
import { SCRATCH_BYTES, SCRATCH_PTR, setFullRetryMs } from './scratch';
import { Desc, DESC_BYTES, KIND_DEADLINE, KIND_RING, NO_SHARE, R_COUNTS } from './table';

@inline export const T_GCRA: u32 = 0;
@inline export const T_WINDOW: u32 = 1;
@inline export const T_UNIQUE_SCOPE: u32 = 2;
@inline export const T_UNIQUE_MEMBER: u32 = 3;
@inline export const T_REPEAT_GROUP: u32 = 4;
@inline export const T_REPEAT_MEMBER: u32 = 5;
/** One ring per scope counting its repeat members over all its groups (its share of repeatMember). */
@inline export const T_REPEAT_SCOPE: u32 = 6;
@inline const TABLES: u32 = 7;

// Ring sizes (mirrored in src/core/types.ts): buckets + the current one.
@inline export const WINDOW_RING: u32 = 129; // W/128 per bucket: < 1 % of the window
@inline export const UNIQUE_RING: u32 = 1441; // 24 h in 1 min buckets
@inline export const REPEAT_RING: u32 = 33; // W/32 per bucket
@inline export const UNIQUE_WINDOW_MS: f64 = 86_400_000;
@inline const DEADLINE_ENTRY: u32 = 16;

const DESC_PTR: usize = SCRATCH_PTR + SCRATCH_BYTES;
let ready = false;

@inline export function table(id: u32): Desc {
  return changetype<Desc>(DESC_PTR + <usize>(id * DESC_BYTES));
}

@inline export function gcraTable(): Desc {
  return table(T_GCRA);
}

@inline function entryBytesOf(kind: u32, ring: u32): u32 {
  return kind == KIND_DEADLINE ? DEADLINE_ENTRY : R_COUNTS + (ring << 2);
}

@inline function capOf(keys: u32): u32 {
  return keys < 8 ? 16 : keys * 2;
}

/** End address of a table that starts at `at` (16-byte aligned). */
@inline function endOf(at: usize, keys: u32, kind: u32, ring: u32): usize {
  return (at + <usize>capOf(keys) * <usize>entryBytesOf(kind, ring) + 15) & ~(<usize>15);
}

function setup(id: u32, at: usize, keys: u32, kind: u32, ring: u32): usize {
  const d = table(id);
  d.base = <u32>at;
  d.cap = capOf(keys);
  d.entryBytes = entryBytesOf(kind, ring);
  d.kind = kind;
  d.count = 0;
  d.ring = ring;
  d.full = 0;
  d.share = NO_SHARE;
  d.shareFull = 0;
  return endOf(at, keys, kind, ring);
}

/**
 * Size every table and grow memory once. Returns the total bytes of linear memory in use, or 0
 * if the memory could not grow (or init was already called).
 */
export function init(gcraKeys: u32, windowKeys: u32, uniqueScopes: u32, uniqueKeys: u32, repeatGroups: u32, repeatKeys: u32, fullRetryMs: f64): f64 {
  if (ready) return 0;
  const first = DESC_PTR + <usize>(TABLES * DESC_BYTES);
  // Size first (u64: a too-large config must fail, not wrap), grow once, then write descriptors.
  let end: u64 = <u64>first;
  end += <u64>capOf(gcraKeys) * DEADLINE_ENTRY + 16;
  end += <u64>capOf(windowKeys) * <u64>entryBytesOf(KIND_RING, WINDOW_RING) + 16;
  end += <u64>capOf(uniqueScopes) * <u64>entryBytesOf(KIND_RING, UNIQUE_RING) + 16;
  end += <u64>capOf(uniqueKeys) * DEADLINE_ENTRY + 16;
  end += <u64>capOf(repeatGroups) * <u64>entryBytesOf(KIND_RING, REPEAT_RING) + 16;
  end += <u64>capOf(repeatKeys) * DEADLINE_ENTRY + 16;
  end += <u64>capOf(uniqueScopes) * <u64>entryBytesOf(KIND_RING, REPEAT_RING) + 16;
  if (end >= 0xffff_0000) return 0;
  const pages = <i32>((end + 0xffff) >> 16);
  const have = memory.size();
  if (pages > have && memory.grow(pages - have) < 0) return 0;
  let at = first;
  at = setup(T_GCRA, at, gcraKeys, KIND_DEADLINE, 0);
  at = setup(T_WINDOW, at, windowKeys, KIND_RING, WINDOW_RING);
  at = setup(T_UNIQUE_SCOPE, at, uniqueScopes, KIND_RING, UNIQUE_RING);
  at = setup(T_UNIQUE_MEMBER, at, uniqueKeys, KIND_DEADLINE, 0);
  at = setup(T_REPEAT_GROUP, at, repeatGroups, KIND_RING, REPEAT_RING);
  at = setup(T_REPEAT_MEMBER, at, repeatKeys, KIND_DEADLINE, 0);
  at = setup(T_REPEAT_SCOPE, at, uniqueScopes, KIND_RING, REPEAT_RING);
  // Fresh pages are zero: every key is 0, i.e. every slot empty.
  setFullRetryMs(fullRetryMs);
  ready = true;
  return <f64>at;
}

export function tableCapacity(id: u32): u32 {
  return table(id).cap;
}

export function tableCount(id: u32): u32 {
  return table(id).count;
}

export function tableFull(id: u32): f64 {
  return table(id).full;
}

/** Charges refused because their scope held its share of member table `id`. */
export function tableShareFull(id: u32): f64 {
  return table(id).shareFull;
}

/** Live entries one scope may hold in member table `id` (uniqueMember, repeatMember); 0 = no bound. */
export function setShare(id: u32, maxLive: u32): void {
  if (!ready || (id != T_UNIQUE_MEMBER && id != T_REPEAT_MEMBER)) return;
  table(id).share = maxLive == 0 ? NO_SHARE : maxLive;
}

export function tableBytes(id: u32): f64 {
  const d = table(id);
  return <f64>d.cap * <f64>d.entryBytes;
}
