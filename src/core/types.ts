/**
 * The JS face of the limits core: one interface, two implementations — the WebAssembly core
 * (src/core/index.ts, what the gateway runs) and a Map-based reference model
 * (src/core/reference.ts, what differential tests compare it against).
 *
 * Shared semantics (both implementations, pinned by test/core):
 * - Time is in ms (>= 0, e.g. epoch ms) and always passed in. Time never runs backwards inside a core: a call whose
 *   `nowMs` is earlier than the latest seen is evaluated at the latest seen, so a wall-clock step
 *   back neither frees nor blocks anything, and an idle key that was reclaimed stays equivalent
 *   to an absent one.
 * - Every answer is a number of ms: 0 = admitted (and charged, for verbs that charge); > 0 =
 *   refused, whole ms until it would be admitted; a refusal charges nothing.
 * - Waits are rounded up to whole ms so that retrying after exactly the wait is admitted.
 */

import type { CoreKey } from './keyhash.js';

/** GCRA buckets (per-number throughput, pair rate). One theoretical arrival time (TAT) per key. */
export interface GcraApi {
  /** 0 = would conform now; >0 = ms until it would. Charges nothing. */
  check(key: string, ratePerSec: number, burst: number, nowMs: number): number;
  /** 0 = conformed and charged; >0 = refused, ms until it would conform; charges nothing when refused. */
  take(key: string, ratePerSec: number, burst: number, nowMs: number): number;
  /** Batch: one decision per key into out[i] (same meaning as take). */
  takeMany(keys: readonly string[], ratePerSec: number, burst: number, nowMs: number, out: Float64Array): void;
  /** check on a key hashed once (keyhash.ts CoreKey): no hashing per call. */
  checkKey(key: CoreKey, ratePerSec: number, burst: number, nowMs: number): number;
  /** take on a key hashed once. */
  takeKey(key: CoreKey, ratePerSec: number, burst: number, nowMs: number): number;
  /** Batch take on `group.member(m)` for each m of `members` (one group's keys: a lane's recipients), into out[i]. */
  takeMembers(group: CoreKey, members: readonly string[], ratePerSec: number, burst: number, nowMs: number, out: Float64Array): void;
}

/** Sliding-window counters (burst accounting, warm-up caps). */
export interface WindowApi {
  count(key: string, windowMs: number, nowMs: number): number;
  /** 0 = counted; >0 = refused (limit reached), ms until a slot frees. */
  take(key: string, windowMs: number, limit: number, nowMs: number): number;
  countKey(key: CoreKey, windowMs: number, nowMs: number): number;
  takeKey(key: CoreKey, windowMs: number, limit: number, nowMs: number): number;
}

/** Rolling 24 h unique-recipient window per scope (messaging limit / tier). */
export interface UniqueApi {
  /** 0 = admitted (new and counted, or already counted in the window); >0 = refused, ms until a slot frees. */
  charge(scope: string, recipient: string, limit: number, nowMs: number): number;
  release(scope: string, recipient: string, nowMs: number): void;
  count(scope: string, nowMs: number): number;
  /** charge with `member` = CoreKey.of(scope).member(recipient), hashed once per request. */
  chargeKey(member: CoreKey, limit: number, nowMs: number): number;
  releaseKey(member: CoreKey, nowMs: number): void;
  countKey(scope: CoreKey, nowMs: number): number;
}

/** Repeated content: distinct recipients per (scope, content fingerprint) within a window. */
export interface RepeatApi {
  /** fingerprint = fingerprintOf(text); 0 = admitted; >0 = refused, ms until the window frees a slot. */
  charge(scope: string, fingerprint: string, recipient: string, windowMs: number, maxRecipients: number, nowMs: number): number;
  /**
   * As charge, telling the two admissions apart: 0 = the recipient is counted now (release() gives
   * it back if the send is not accepted after all), -1 = it was already counted (nothing to give back).
   */
  take(scope: string, fingerprint: string, recipient: string, windowMs: number, maxRecipients: number, nowMs: number): number;
  release(scope: string, fingerprint: string, recipient: string, nowMs: number): void;
  /** take with `member` = CoreKey.of(scope).member(fingerprint).member(recipient), hashed once per request. */
  takeKey(member: CoreKey, windowMs: number, maxRecipients: number, nowMs: number): number;
  releaseKey(member: CoreKey, nowMs: number): void;
}

/** The tables of the core, as named in stats. */
export type CoreTable = 'gcra' | 'window' | 'uniqueScope' | 'uniqueMember' | 'repeatGroup' | 'repeatMember' | 'repeatScope';
/** In table id order (assembly/layout.ts). */
export const CORE_TABLES: readonly CoreTable[] = ['gcra', 'window', 'uniqueScope', 'uniqueMember', 'repeatGroup', 'repeatMember', 'repeatScope'];

export interface CoreStats {
  /** Decisions answered with the safe refusal because a table had no free or reclaimable slot. */
  tableFull: Record<CoreTable, number>;
  /**
   * Charges refused because their scope (tenant) held its share of a member table (scopeShare);
   * non-zero only for uniqueMember and repeatMember.
   */
  shareFull: Record<CoreTable, number>;
  /** Slots holding a key (idle keys count until a later probe reclaims their slot). */
  liveKeys: Record<CoreTable, number>;
  /** Slots per table (fixed at init). */
  capacity: Record<CoreTable, number>;
  /** Bytes of linear memory per table. */
  tableBytes: Record<CoreTable, number>;
  /** WebAssembly memory size in bytes (constant after init). */
  memoryBytes: number;
}

export interface CoreOptions {
  gcraKeys: number;
  windowKeys: number;
  /** (scope, recipient) pairs tracked by the unique-recipient window. */
  uniqueKeys: number;
  /** (scope, fingerprint, recipient) triples tracked by repeated-content detection. */
  repeatKeys: number;
  /** ms a caller is told to wait when a table is full (safe answer); default 1000 */
  fullRetryMs?: number;
  /** scopes (portfolios) for the unique window; default max(64, uniqueKeys / 1024) */
  uniqueScopes?: number;
  /** (scope, fingerprint) groups for repeated content; default max(64, repeatKeys / 8) */
  repeatGroups?: number;
  /**
   * Per-tenant isolation: the fraction of uniqueKeys and of repeatKeys one scope (tenant) may hold
   * live, in (0, 1]; default 1 (no share). With shares summing to at most 1 a tenant at its share
   * is refused (fullRetryMs, counted in stats().shareFull) and no other tenant notices.
   */
  scopeShare?: number;
}

export interface Core {
  gcra: GcraApi;
  window: WindowApi;
  unique: UniqueApi;
  repeat: RepeatApi;
  /** xxh64 (seed 0) of the UTF-8 bytes of `normalise(text)`, as 16 lowercase hex chars. */
  fingerprintOf(text: string): string;
  /** counters: tableFull per table, live keys per table, memory bytes */
  stats(): CoreStats;
  /** The latest unique/repeat charge was refused because its scope (tenant) held its share (scopeShare). */
  lastShareRefused(): boolean;
}

/** Ring geometry shared by both implementations (see assembly/ring.ts for the why). */
export const WINDOW_RING = 129; // sliding window: 128 buckets of windowMs/128 + the current one
export const UNIQUE_RING = 1441; // 24 h in 1 min buckets + the current one
export const REPEAT_RING = 33; // repeat window in 32 buckets + the current one
export const UNIQUE_WINDOW_MS = 86_400_000;
/** Tolerance for float rounding in GCRA sums (ms): 1e-6 ms cannot change a whole-ms answer. */
export const GCRA_EPSILON_MS = 1e-6;

export function validateGcra(ratePerSec: number, burst: number): void {
  if (!(ratePerSec > 0) || !(burst >= 1) || !Number.isFinite(ratePerSec) || !Number.isFinite(burst)) {
    throw new RangeError(`gcra needs ratePerSec > 0 and burst >= 1 (got ${ratePerSec}, ${burst})`);
  }
}

export function validateWindow(windowMs: number): void {
  if (!(windowMs >= 1) || !Number.isFinite(windowMs)) throw new RangeError(`windowMs must be >= 1 (got ${windowMs})`);
}

/** The group of a member key (a scope's recipient, a fingerprint's recipient); a root key has none. */
export function groupOf(member: CoreKey): CoreKey {
  const g = member.group;
  if (g === undefined) throw new RangeError(`limits core: "${member.part}" is a root key where a member key (group.member(part)) is needed`);
  return g;
}
