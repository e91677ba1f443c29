/**
 * The limits core: the gateway's GCRA buckets, sliding windows, unique-recipient and
 * repeated-content windows, in WebAssembly linear memory (assembly/). Semantics are written in
 * src/core/types.ts and the headers of assembly/*.ts; src/core/reference.ts is the same
 * semantics over Maps, for tests.
 *
 * Boundary: key strings are hashed in JS into two int32 lanes (keyhash.ts) and passed as call
 * arguments — no encoding, no allocation, no BigInt; batches write the pairs into the scratch
 * region and make one call. Answers are plain numbers. Only fingerprintOf sends text (UTF-8
 * through the scratch region) because its xxh64 must equal xxhash-wasm's over those bytes.
 */
import { normalise } from './normalise.js';
import { KeyHasher } from './keyhash.js';
import { BATCH_MAX, Scratch } from './scratch.js';
import {
  type Core, type CoreOptions, type CoreStats, type CoreTable, CORE_TABLES, groupOf, validateGcra, validateWindow,
} from './types.js';
import { instantiateCore } from './wasm.js';

export type { Core, CoreOptions, CoreStats, CoreTable } from './types.js';
export { CORE_TABLES } from './types.js';
export { CoreKey } from './keyhash.js';

/** Member table ids (assembly/layout.ts, CORE_TABLES order). */
const UNIQUE_MEMBER = CORE_TABLES.indexOf('uniqueMember');
const REPEAT_MEMBER = CORE_TABLES.indexOf('repeatMember');

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Where touchKeys leaves its result, so the engine cannot drop the loads as dead code. */
const touchSink = { value: 0 };
/** Keys touched ahead of hashing: enough independent loads to keep the CPU's miss queue busy, few enough to stay in L1. */
const TOUCH_GROUP = 64;
/**
 * Read the first code unit of keys[from..to) before hashing them one by one: the loads are
 * independent, so the CPU overlaps their cache misses instead of meeting them one key at a time
 * inside the hash loop. Measured on 1024-key batches over 10^5 keys (CPU time, shared 2-core
 * machine): hashing ~410 → ~210-270 ns/key.
 */
function touchKeys(keys: readonly string[], from: number, to: number): void {
  let t = 0;
  for (let i = from; i < to; i++) t ^= keys[i]!.charCodeAt(0) | 0;
  touchSink.value = t;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 0x3fff_ffff) throw new RangeError(`${name} must be an integer in 1..2^30 (got ${value})`);
  return value;
}

/** Load build/core.wasm into a fresh instance and size its tables (memory grows once, here). */
export async function loadCore(options: CoreOptions): Promise<Core> {
  const x = await instantiateCore();
  const fullRetryMs = options.fullRetryMs ?? 1000;
  // 0 would read as "admitted": a full table must never allow silently.
  if (!(fullRetryMs >= 1) || !Number.isFinite(fullRetryMs)) throw new RangeError(`fullRetryMs must be >= 1 (got ${fullRetryMs})`);
  const uniqueKeys = positiveInt('uniqueKeys', options.uniqueKeys);
  const repeatKeys = positiveInt('repeatKeys', options.repeatKeys);
  const used = x.init(
    positiveInt('gcraKeys', options.gcraKeys),
    positiveInt('windowKeys', options.windowKeys),
    positiveInt('uniqueScopes', options.uniqueScopes ?? Math.max(64, Math.ceil(uniqueKeys / 1024))),
    uniqueKeys,
    positiveInt('repeatGroups', options.repeatGroups ?? Math.max(64, Math.ceil(repeatKeys / 8))),
    repeatKeys,
    fullRetryMs,
  );
  if (used === 0) throw new RangeError('limits core: tables do not fit in WebAssembly memory (4 GiB)');
  const scopeShare = options.scopeShare ?? 1;
  if (!(scopeShare > 0 && scopeShare <= 1)) throw new RangeError(`scopeShare must be in (0, 1] (got ${scopeShare})`);
  if (scopeShare < 1) {
    x.setShare(UNIQUE_MEMBER, Math.max(1, Math.floor(uniqueKeys * scopeShare)));
    x.setShare(REPEAT_MEMBER, Math.max(1, Math.floor(repeatKeys * scopeShare)));
  }
  const s = new Scratch(x.memory, x.scratchPtr() >>> 0);

  const h = new KeyHasher();
  /**
   * A member's key under its group (unique recipients of a scope, recipients of a fingerprint):
   * with the group's hash in `h`, keeps it in gHi/gLo and leaves the member's, seeded by it, in `h`.
   * Plain variables, set once per call: no object per decision.
   */
  let gHi = 0;
  let gLo = 0;
  const hashMember = (member: string): void => {
    gHi = h.hi;
    gLo = h.lo;
    h.hashWith(member, gHi, gLo);
  };
  /** Repeat keys: scope into sHi/sLo, (scope, fingerprint) into gHi/gLo, the recipient's in `h`. */
  let sHi = 0;
  let sLo = 0;
  const hashRepeat = (scope: string, fingerprint: string, recipient: string): void => {
    h.hash(scope);
    sHi = h.hi;
    sLo = h.lo;
    h.hashWith(fingerprint, sHi, sLo);
    hashMember(recipient);
  };
  // Each wrapper: validate, hash into h.hi/h.lo, one call with numbers only (small enough to inline).
  return {
    gcra: {
      check(key, ratePerSec, burst, nowMs) {
        validateGcra(ratePerSec, burst);
        h.hash(key);
        return x.gcraCheck(h.hi, h.lo, ratePerSec, burst, nowMs);
      },
      take(key, ratePerSec, burst, nowMs) {
        validateGcra(ratePerSec, burst);
        h.hash(key);
        return x.gcraTake(h.hi, h.lo, ratePerSec, burst, nowMs);
      },
      takeMany(keys, ratePerSec, burst, nowMs, out) {
        validateGcra(ratePerSec, burst);
        if (out.length < keys.length) throw new RangeError('takeMany: out is shorter than keys');
        s.fresh();
        const pairs = s.pairs;
        for (let first = 0; first < keys.length; first += BATCH_MAX) {
          const n = Math.min(BATCH_MAX, keys.length - first);
          for (let g = 0; g < n; g += TOUCH_GROUP) {
            const end = Math.min(n, g + TOUCH_GROUP);
            touchKeys(keys, first + g, first + end);
            for (let i = g; i < end; i++) {
              h.hash(keys[first + i]!);
              pairs[2 * i] = h.hi;
              pairs[2 * i + 1] = h.lo;
            }
          }
          x.gcraTakeMany(n, ratePerSec, burst, nowMs);
          s.results(out, first, n);
        }
      },
      checkKey(key, ratePerSec, burst, nowMs) {
        validateGcra(ratePerSec, burst);
        return x.gcraCheck(key.hi, key.lo, ratePerSec, burst, nowMs);
      },
      takeKey(key, ratePerSec, burst, nowMs) {
        validateGcra(ratePerSec, burst);
        return x.gcraTake(key.hi, key.lo, ratePerSec, burst, nowMs);
      },
      takeMembers(group, members, ratePerSec, burst, nowMs, out) {
        validateGcra(ratePerSec, burst);
        if (out.length < members.length) throw new RangeError('takeMembers: out is shorter than members');
        s.fresh();
        const pairs = s.pairs;
        const seedHi = group.hi;
        const seedLo = group.lo;
        for (let first = 0; first < members.length; first += BATCH_MAX) {
          const n = Math.min(BATCH_MAX, members.length - first);
          for (let g = 0; g < n; g += TOUCH_GROUP) {
            const end = Math.min(n, g + TOUCH_GROUP);
            touchKeys(members, first + g, first + end);
            for (let i = g; i < end; i++) {
              h.hashWith(members[first + i]!, seedHi, seedLo);
              pairs[2 * i] = h.hi;
              pairs[2 * i + 1] = h.lo;
            }
          }
          x.gcraTakeMany(n, ratePerSec, burst, nowMs);
          s.results(out, first, n);
        }
      },
    },
    window: {
      count(key, windowMs, nowMs) {
        validateWindow(windowMs);
        h.hash(key);
        return x.windowCount(h.hi, h.lo, windowMs, nowMs);
      },
      take(key, windowMs, limit, nowMs) {
        validateWindow(windowMs);
        h.hash(key);
        return x.windowTake(h.hi, h.lo, windowMs, limit, nowMs);
      },
      countKey(key, windowMs, nowMs) {
        validateWindow(windowMs);
        return x.windowCount(key.hi, key.lo, windowMs, nowMs);
      },
      takeKey(key, windowMs, limit, nowMs) {
        validateWindow(windowMs);
        return x.windowTake(key.hi, key.lo, windowMs, limit, nowMs);
      },
    },
    unique: {
      charge(scope, recipient, limit, nowMs) {
        h.hash(scope);
        hashMember(recipient);
        return x.uniqueCharge(gHi, gLo, h.hi, h.lo, limit, nowMs);
      },
      release(scope, recipient, nowMs) {
        h.hash(scope);
        hashMember(recipient);
        x.uniqueRelease(gHi, gLo, h.hi, h.lo, nowMs);
      },
      count(scope, nowMs) {
        h.hash(scope);
        return x.uniqueCount(h.hi, h.lo, nowMs);
      },
      chargeKey(member, limit, nowMs) {
        const scope = groupOf(member);
        return x.uniqueCharge(scope.hi, scope.lo, member.hi, member.lo, limit, nowMs);
      },
      releaseKey(member, nowMs) {
        const scope = groupOf(member);
        x.uniqueRelease(scope.hi, scope.lo, member.hi, member.lo, nowMs);
      },
      countKey(scope, nowMs) {
        return x.uniqueCount(scope.hi, scope.lo, nowMs);
      },
    },
    repeat: {
      charge(scope, fingerprint, recipient, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        hashRepeat(scope, fingerprint, recipient);
        return x.repeatCharge(sHi, sLo, gHi, gLo, h.hi, h.lo, windowMs, maxRecipients, nowMs);
      },
      take(scope, fingerprint, recipient, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        hashRepeat(scope, fingerprint, recipient);
        return x.repeatTake(sHi, sLo, gHi, gLo, h.hi, h.lo, windowMs, maxRecipients, nowMs);
      },
      release(scope, fingerprint, recipient, nowMs) {
        hashRepeat(scope, fingerprint, recipient);
        x.repeatRelease(sHi, sLo, gHi, gLo, h.hi, h.lo, nowMs);
      },
      takeKey(member, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        const group = groupOf(member);
        const scope = groupOf(group);
        return x.repeatTake(scope.hi, scope.lo, group.hi, group.lo, member.hi, member.lo, windowMs, maxRecipients, nowMs);
      },
      releaseKey(member, nowMs) {
        const group = groupOf(member);
        const scope = groupOf(group);
        x.repeatRelease(scope.hi, scope.lo, group.hi, group.lo, member.hi, member.lo, nowMs);
      },
    },
    fingerprintOf(text) {
      x.hashScratch(s.write(normalise(text)));
      const out = s.output();
      let hex = '';
      for (let i = 7; i >= 0; i--) hex += HEX[out[i]!];
      return hex;
    },
    lastShareRefused: () => x.lastShareRefused() === 1,
    stats(): CoreStats {
      const per = (f: (id: number) => number): Record<CoreTable, number> =>
        Object.fromEntries(CORE_TABLES.map((t, id) => [t, f(id)])) as Record<CoreTable, number>;
      return {
        tableFull: per((id) => x.tableFull(id)),
        shareFull: per((id) => x.tableShareFull(id)),
        liveKeys: per((id) => x.tableCount(id) >>> 0),
        capacity: per((id) => x.tableCapacity(id) >>> 0),
        tableBytes: per((id) => x.tableBytes(id)),
        memoryBytes: x.memory.buffer.byteLength,
      };
    },
  };
}
