/**
 * The limits core: the gateway's GCRA buckets, sliding windows, unique-recipient and
 * repeated-content windows, in WebAssembly linear memory (assembly/). Semantics are written in
 * src/core/types.ts and the headers of assembly/*.ts; src/core/reference.ts is the same
 * semantics over Maps, for tests.
 *
 * Boundary: strings go through one scratch region as UTF-8 and are hashed inside the module,
 * so one call = hash + decision; answers are plain numbers.
 */
import { normalise } from './normalise.js';
import { Scratch } from './scratch.js';
import {
  type Core, type CoreOptions, type CoreStats, type CoreTable, CORE_TABLES, validateGcra, validateWindow,
} from './types.js';
import { instantiateCore, OUTPUT_BYTES } from './wasm.js';

export type { Core, CoreOptions, CoreStats, CoreTable } from './types.js';
export { CORE_TABLES } from './types.js';

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const BATCH_MAX = OUTPUT_BYTES / 8;

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
  const s = new Scratch(x.memory, x.scratchPtr() >>> 0);

  return {
    gcra: {
      check(key, ratePerSec, burst, nowMs) {
        validateGcra(ratePerSec, burst);
        return x.gcraCheck(s.write(key, 0), ratePerSec, burst, nowMs);
      },
      take(key, ratePerSec, burst, nowMs) {
        validateGcra(ratePerSec, burst);
        return x.gcraTake(s.write(key, 0), ratePerSec, burst, nowMs);
      },
      takeMany(keys, ratePerSec, burst, nowMs, out) {
        validateGcra(ratePerSec, burst);
        if (out.length < keys.length) throw new RangeError('takeMany: out is shorter than keys');
        let first = 0;
        while (first < keys.length) {
          const n = s.batchSize(keys, first, BATCH_MAX);
          const chunk = first === 0 && n === keys.length ? keys : keys.slice(first, first + n);
          if (x.gcraTakeMany(s.write(chunk.join('\0'), 0), n, ratePerSec, burst, nowMs) !== n) {
            throw new RangeError('takeMany: keys must not contain NUL');
          }
          s.results(out, first, n);
          first += n;
        }
      },
    },
    window: {
      count(key, windowMs, nowMs) {
        validateWindow(windowMs);
        return x.windowCount(s.write(key, 0), windowMs, nowMs);
      },
      take(key, windowMs, limit, nowMs) {
        validateWindow(windowMs);
        return x.windowTake(s.write(key, 0), windowMs, limit, nowMs);
      },
    },
    unique: {
      charge(scope, recipient, limit, nowMs) {
        const a = s.write(scope, 0);
        return x.uniqueCharge(a, s.write(recipient, a), limit, nowMs);
      },
      release(scope, recipient, nowMs) {
        const a = s.write(scope, 0);
        x.uniqueRelease(a, s.write(recipient, a), nowMs);
      },
      count(scope, nowMs) {
        return x.uniqueCount(s.write(scope, 0), nowMs);
      },
    },
    repeat: {
      charge(scope, fingerprint, recipient, windowMs, maxRecipients, nowMs) {
        validateWindow(windowMs);
        const a = s.write(scope, 0);
        const b = s.write(fingerprint, a);
        return x.repeatCharge(a, b, s.write(recipient, a + b), windowMs, maxRecipients, nowMs);
      },
    },
    fingerprintOf(text) {
      x.hashScratch(s.write(normalise(text), 0));
      const out = s.output();
      let hex = '';
      for (let i = 7; i >= 0; i--) hex += HEX[out[i]!];
      return hex;
    },
    stats(): CoreStats {
      const per = (f: (id: number) => number): Record<CoreTable, number> =>
        Object.fromEntries(CORE_TABLES.map((t, id) => [t, f(id)])) as Record<CoreTable, number>;
      return {
        tableFull: per((id) => x.tableFull(id)),
        liveKeys: per((id) => x.tableCount(id) >>> 0),
        capacity: per((id) => x.tableCapacity(id) >>> 0),
        tableBytes: per((id) => x.tableBytes(id)),
        memoryBytes: x.memory.buffer.byteLength,
      };
    },
  };
}
