/**
 * Map-based reference model of the limits core. Same semantics as the WebAssembly core
 * (see src/core/types.ts and the headers of assembly/*.ts), written for clarity, not speed:
 * differential tests drive both with the same operations and require identical answers.
 *
 * Differences that are by design:
 * - keys are exact strings here; the WASM core keys its tables by a 64-bit hash of the key's UTF-16
 *   code units computed in JS with a per-process random seed (src/core/keyhash.ts; two distinct
 *   keys colliding has probability ~n²/2⁶⁵: ~3e-8 at 10^6 keys, documented, accepted);
 * - maps here are unbounded and never report a full table (only the WASM core has capacity);
 * - stats here are key counts only, no memory.
 */
import { xxh64Hex } from './xxh64.js';
import type { CoreKey } from './keyhash.js';
import { normalise } from './normalise.js';
import {
  type GcraApi, type RepeatApi, type UniqueApi, type WindowApi, GCRA_EPSILON_MS, REPEAT_RING, UNIQUE_RING,
  UNIQUE_WINDOW_MS, WINDOW_RING, groupOf, validateGcra, validateWindow,
} from './types.js';

/** A bucketed window: ring[idx % size] counts events of bucket idx; buckets head-size+1..head are live. */
class Ring {
  readonly counts: number[];
  total = 0;
  constructor(readonly size: number, public windowMs: number, public head: number) {
    this.counts = new Array<number>(size).fill(0);
  }

  bucketMs(): number {
    return this.windowMs / (this.size - 1);
  }

  /** Expire buckets that left the window; re-bucket (conservatively) if the window length changed. */
  advance(windowMs: number, nowMs: number): number {
    let cur = Math.floor(nowMs / this.bucketMs());
    if (cur > this.head) {
      const steps = cur - this.head;
      if (steps >= this.size) {
        this.counts.fill(0);
        this.total = 0;
      } else {
        for (let s = 1; s <= steps; s++) {
          const i = (this.head + s) % this.size;
          this.total -= this.counts[i]!;
          this.counts[i] = 0;
        }
      }
      this.head = cur;
    }
    if (windowMs !== this.windowMs) {
      this.windowMs = windowMs;
      cur = Math.floor(nowMs / this.bucketMs());
      this.counts.fill(0);
      this.counts[cur % this.size] = this.total;
      this.head = cur;
    }
    return this.head;
  }

  add(idx: number, n: number): void {
    this.counts[idx % this.size]! += n;
    this.total += n;
  }

  /** ms until `need` counted events have left the window (whole window if they never would). */
  waitFor(need: number, nowMs: number): number {
    const bw = this.bucketMs();
    let acc = 0;
    for (let j = this.head - (this.size - 1); j <= this.head; j++) {
      acc += this.counts[j % this.size]!;
      if (acc >= need) return Math.ceil((j + this.size) * bw - nowMs);
    }
    return Math.ceil((this.head + this.size) * bw - nowMs);
  }

  exitMs(idx: number): number {
    return (idx + this.size) * this.bucketMs();
  }
}

/** Distinct members per group within a bucketed window (unique recipients, repeated content). */
class DistinctWindow {
  private readonly groups = new Map<string, Ring>();
  /** member key → time its charge leaves the window */
  private readonly members = new Map<string, number>();

  constructor(private readonly ringSize: number, private readonly refresh: boolean) {}

  /** 0 = counted now; -1 = already counted (admitted, nothing new counted); >0 = refused, ms until a slot frees. */
  charge(group: string, member: string, windowMs: number, limit: number, nowMs: number): number {
    const ring = this.ring(group, windowMs, nowMs);
    const cur = ring.advance(windowMs, nowMs);
    const exit = this.members.get(member);
    if (exit !== undefined && exit > nowMs) {
      if (this.refresh) {
        const j = exit / ring.bucketMs() - ring.size;
        if (j !== cur) {
          ring.add(j, -1);
          ring.add(cur, 1);
        }
        this.members.set(member, ring.exitMs(cur));
      }
      return -1;
    }
    if (ring.total >= limit) return ring.waitFor(ring.total - limit + 1, nowMs);
    ring.add(cur, 1);
    this.members.set(member, ring.exitMs(cur));
    return 0;
  }

  release(group: string, member: string, nowMs: number): void {
    const exit = this.members.get(member);
    if (exit === undefined || exit <= nowMs) return;
    this.members.delete(member);
    const ring = this.groups.get(group);
    if (ring === undefined) return;
    ring.advance(ring.windowMs, nowMs);
    ring.add(exit / ring.bucketMs() - ring.size, -1);
  }

  count(group: string, windowMs: number, nowMs: number): number {
    const ring = this.groups.get(group);
    if (ring === undefined) return 0;
    ring.advance(windowMs, nowMs);
    return ring.total;
  }

  size(): { groups: number; members: number } {
    return { groups: this.groups.size, members: this.members.size };
  }

  private ring(group: string, windowMs: number, nowMs: number): Ring {
    let ring = this.groups.get(group);
    if (ring === undefined) {
      ring = new Ring(this.ringSize, windowMs, Math.floor(nowMs / (windowMs / (this.ringSize - 1))));
      this.groups.set(group, ring);
    }
    return ring;
  }
}

export interface ReferenceCore {
  gcra: GcraApi;
  window: WindowApi;
  unique: UniqueApi;
  repeat: RepeatApi;
  fingerprintOf(text: string): string;
  /** Always false: the reference model has no shares (nothing is bounded). */
  lastShareRefused(): boolean;
  /** Keys held per structure (the reference never evicts; idle keys stay). */
  size(): { gcra: number; window: number; uniqueScopes: number; uniqueMembers: number; repeatGroups: number; repeatMembers: number };
}

/** Build a reference core. Keys are exact strings; nothing is bounded. */
export function createReferenceCore(): ReferenceCore {
  let lastNowMs = -Infinity;
  const clamp = (nowMs: number): number => (lastNowMs = nowMs > lastNowMs ? nowMs : lastNowMs);

  const tats = new Map<string, number>();
  const gcraDecide = (key: string, ratePerSec: number, burst: number, nowMs: number, charge: boolean): number => {
    validateGcra(ratePerSec, burst);
    const now = clamp(nowMs);
    const intervalMs = 1000 / ratePerSec;
    const stored = tats.get(key);
    const tat = stored !== undefined && stored > now ? stored : now;
    const newTat = tat + intervalMs;
    const allowAt = newTat - burst * intervalMs;
    if (allowAt - now > GCRA_EPSILON_MS) return Math.ceil(allowAt - now);
    if (charge) tats.set(key, newTat);
    return 0;
  };

  const windows = new Map<string, Ring>();
  const unique = new DistinctWindow(UNIQUE_RING, true);
  const repeat = new DistinctWindow(REPEAT_RING, false);
  // Compound keys (scope + recipient ...) are length-prefixed parts, so no two part lists
  // join to the same string; the WASM core chains hash seeds part by part instead.
  const join = (...parts: string[]): string => parts.map((p) => `${p.length}:${p}`).join('\0');
  // A CoreKey as a string key: a root key is its text, as the string entry points use it; a
  // member key is its joined chain (the WASM core hashes the chain, not a joined string).
  const keyText = (k: CoreKey): string => (k.group === undefined ? k.part : join(...k.parts()));
  const windowTake = (key: string, windowMs: number, limit: number, nowMs: number): number => {
    validateWindow(windowMs);
    const now = clamp(nowMs);
    let ring = windows.get(key);
    if (ring === undefined) {
      ring = new Ring(WINDOW_RING, windowMs, Math.floor(now / (windowMs / (WINDOW_RING - 1))));
      windows.set(key, ring);
    }
    const cur = ring.advance(windowMs, now);
    if (ring.total >= limit) return ring.waitFor(ring.total - limit + 1, now);
    ring.add(cur, 1);
    return 0;
  };
  const windowCount = (key: string, windowMs: number, nowMs: number): number => {
    validateWindow(windowMs);
    const now = clamp(nowMs);
    const ring = windows.get(key);
    if (ring === undefined) return 0;
    ring.advance(windowMs, now);
    return ring.total;
  };

  return {
    gcra: {
      check: (key, ratePerSec, burst, nowMs) => gcraDecide(key, ratePerSec, burst, nowMs, false),
      take: (key, ratePerSec, burst, nowMs) => gcraDecide(key, ratePerSec, burst, nowMs, true),
      takeMany(keys, ratePerSec, burst, nowMs, out) {
        for (let i = 0; i < keys.length; i++) out[i] = gcraDecide(keys[i]!, ratePerSec, burst, nowMs, true);
      },
      checkKey: (key, ratePerSec, burst, nowMs) => gcraDecide(keyText(key), ratePerSec, burst, nowMs, false),
      takeKey: (key, ratePerSec, burst, nowMs) => gcraDecide(keyText(key), ratePerSec, burst, nowMs, true),
      takeMembers(group, members, ratePerSec, burst, nowMs, out) {
        for (let i = 0; i < members.length; i++) out[i] = gcraDecide(keyText(group.member(members[i]!)), ratePerSec, burst, nowMs, true);
      },
    },
    window: {
      count: windowCount,
      take: windowTake,
      countKey: (key, windowMs, nowMs) => windowCount(keyText(key), windowMs, nowMs),
      takeKey: (key, windowMs, limit, nowMs) => windowTake(keyText(key), windowMs, limit, nowMs),
    },
    unique: {
      charge: (scope, recipient, limit, nowMs) =>
        Math.max(0, unique.charge(join(scope), join(scope, recipient), UNIQUE_WINDOW_MS, limit, clamp(nowMs))),
      release: (scope, recipient, nowMs) => unique.release(join(scope), join(scope, recipient), clamp(nowMs)),
      count: (scope, nowMs) => unique.count(join(scope), UNIQUE_WINDOW_MS, clamp(nowMs)),
      chargeKey: (member, limit, nowMs) =>
        Math.max(0, unique.charge(join(...groupOf(member).parts()), join(...member.parts()), UNIQUE_WINDOW_MS, limit, clamp(nowMs))),
      releaseKey: (member, nowMs) => unique.release(join(...groupOf(member).parts()), join(...member.parts()), clamp(nowMs)),
      countKey: (scope, nowMs) => unique.count(join(...scope.parts()), UNIQUE_WINDOW_MS, clamp(nowMs)),
    },
    repeat: {
      charge(scope, fingerprint, recipient, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        return Math.max(0, repeat.charge(join(scope, fingerprint), join(scope, fingerprint, recipient), windowMs, maxRecipients, clamp(nowMs)));
      },
      take(scope, fingerprint, recipient, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        return repeat.charge(join(scope, fingerprint), join(scope, fingerprint, recipient), windowMs, maxRecipients, clamp(nowMs));
      },
      release: (scope, fingerprint, recipient, nowMs) =>
        repeat.release(join(scope, fingerprint), join(scope, fingerprint, recipient), clamp(nowMs)),
      takeKey(member, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        groupOf(groupOf(member)); // scope → fingerprint → recipient, as the WASM core needs
        return repeat.charge(join(...groupOf(member).parts()), join(...member.parts()), windowMs, maxRecipients, clamp(nowMs));
      },
      releaseKey(member, nowMs) {
        groupOf(groupOf(member));
        repeat.release(join(...groupOf(member).parts()), join(...member.parts()), clamp(nowMs));
      },
    },
    fingerprintOf: (text) => xxh64Hex(new TextEncoder().encode(normalise(text))),
    lastShareRefused: () => false,
    size() {
      const u = unique.size();
      const r = repeat.size();
      return { gcra: tats.size, window: windows.size, uniqueScopes: u.groups, uniqueMembers: u.members, repeatGroups: r.groups, repeatMembers: r.members };
    },
  };
}
