/**
 * One implementation, one key count, one key mode, one process (spawned by bench/micro/core.ts):
 *   node --expose-gc dist/bench/micro/core/worker.js <impl> <keys> <prebuilt|built>
 * Prints one JSON line: decisions per second (wall and CPU) of each timed round, and bytes per tracked key.
 *
 * Keys are pair keys as the gateway builds them (phone number id : recipient). Every
 * implementation runs the same op sequence: GCRA take, rate 1/s, burst 5, keys visited in a
 * scattered order (stride prime to the key count, so caches see a real mix of recipients), time
 * moving 1 ms per 1000 decisions (a mix of admitted and refused). Key hashing is inside the timed
 * loop for every implementation that hashes.
 *
 * Key modes:
 * - prebuilt: key strings are built before timing and the same string objects are passed again
 *   and again. A JS Map then never hashes in the loop (V8 caches a string's hash in its header
 *   on first use), while the WASM core reads every code unit of the key on every call.
 * - built: each decision builds its key from the prebuilt recipient (`${phoneNumberId}:${to}`),
 *   as the gateway's pacer does per message; every implementation pays the same concatenation.
 *
 * The WASM core is driven as the gateway drives it (src/dispatch/lane.ts): a lane hashes its group
 * key once (CoreKey.of(phoneNumberId)) and each message's key is its recipient hashed under it
 * (group.member(to): no joined string); prebuilt = those keys hashed before timing and reused,
 * as a lane reuses its own. wasm-string is the string entry point on the joined key (the gateway's
 * path before CoreKey), for comparison. The TS model and rate-limiter-flexible key Maps by
 * strings, so they take the joined key.
 *
 * Breakdown rows (not competitors): hash-only = the key preparation alone (built: group.member(to);
 * prebuilt: the joined string's hash); wasm-prehashed = the WASM decision on hashes computed before timing.
 */
import rlf from 'rate-limiter-flexible';
import { CoreKey, loadCore } from '../../../src/core/index.js';
import { KeyHasher } from '../../../src/core/keyhash.js';
import { createReferenceCore } from '../../../src/core/reference.js';
import { instantiateCore } from '../../../src/core/wasm.js';

export type Impl = 'wasm' | 'wasm-batch' | 'wasm-string' | 'ts-model' | 'rate-limiter-flexible' | 'hash-only' | 'wasm-prehashed';
export type KeyMode = 'prebuilt' | 'built';
export interface WorkerResult {
  impl: Impl;
  keys: number;
  mode: KeyMode;
  /** Decisions per wall-clock second of each timed round. */
  roundsPerSec: number[];
  /**
   * Decisions per CPU second (user + system, all threads of the process, GC helpers included) of
   * each round: on a shared machine wall time also counts the time the process waited for a core.
   */
  roundsPerCpuSec: number[];
  bytesPerKey: number;
  memoryBytesDelta: number;
}

const RATE_PER_SEC = 1;
const BURST = 5;
const T0 = 1_700_000_000_000;
const BATCH = 1024;
const ROUNDS = 5;
const PHONE_NUMBER_ID = '106540352242922';

const gc = (globalThis as { gc?: () => void }).gc;
function heapBytes(): number {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return m.heapUsed + m.external; // external includes arrayBuffers (WASM memory)
}

function stride(n: number): number {
  let s = Math.floor(n * 0.618_033_9) | 1;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  while (gcd(s, n) !== 1) s += 2;
  return s;
}

type Decide = (i: number, nowMs: number) => number | Promise<number>;

async function setup(impl: Impl, n: number, mode: KeyMode, recipients: string[], keys: string[], order: Int32Array): Promise<{ decide: Decide; bytesPerKey: number; memoryBytesDelta: number }> {
  const keyOf = mode === 'prebuilt' ? (i: number) => keys[i]! : (i: number) => `${PHONE_NUMBER_ID}:${recipients[i]!}`;
  const group = CoreKey.of(PHONE_NUMBER_ID);
  const base = heapBytes();
  if (impl === 'wasm' || impl === 'wasm-batch' || impl === 'wasm-string') {
    const core = await loadCore({ gcraKeys: n, windowKeys: 16, uniqueKeys: 16, repeatKeys: 16 });
    const { take, takeKey } = core.gcra;
    for (let i = 0; i < n; i++) takeKey(group.member(recipients[i]!), RATE_PER_SEC, BURST, T0);
    const bytesPerKey = core.stats().tableBytes.gcra / n;
    if (impl === 'wasm-string') return { decide: (i, now) => take(keyOf(i), RATE_PER_SEC, BURST, now), bytesPerKey, memoryBytesDelta: heapBytes() - base };
    if (impl === 'wasm') {
      if (mode === 'built') return { decide: (i, now) => takeKey(group.member(recipients[i]!), RATE_PER_SEC, BURST, now), bytesPerKey, memoryBytesDelta: heapBytes() - base };
      const held = recipients.map((r) => group.member(r));
      return { decide: (i, now) => takeKey(held[i]!, RATE_PER_SEC, BURST, now), bytesPerKey, memoryBytesDelta: heapBytes() - base };
    }
    // One batch = the next BATCH recipients of the same visit order as the single-call loop, hashed under the group.
    const batch = new Array<string>(BATCH);
    const out = new Float64Array(BATCH);
    return {
      decide: (c, now) => {
        for (let j = 0, at = (c * BATCH) % n; j < BATCH; j++, at = at + 1 === n ? 0 : at + 1) batch[j] = recipients[order[at]!]!;
        core.gcra.takeMembers(group, batch, RATE_PER_SEC, BURST, now, out);
        return out[0]!;
      },
      bytesPerKey,
      memoryBytesDelta: heapBytes() - base,
    };
  }
  if (impl === 'wasm-prehashed') {
    const x = await instantiateCore();
    x.init(n, 16, 16, 16, 16, 16, 1000);
    const his = new Int32Array(n);
    const los = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const k = group.member(recipients[i]!);
      his[i] = k.hi;
      los[i] = k.lo;
      x.gcraTake(k.hi, k.lo, RATE_PER_SEC, BURST, T0);
    }
    return { decide: (i, now) => x.gcraTake(his[i]!, los[i]!, RATE_PER_SEC, BURST, now), bytesPerKey: 16 * 2, memoryBytesDelta: heapBytes() - base };
  }
  if (impl === 'hash-only') {
    if (mode === 'built') return { decide: (i) => group.member(recipients[i]!).hi, bytesPerKey: 0, memoryBytesDelta: 0 };
    const h = new KeyHasher();
    return { decide: (i) => (h.hash(keyOf(i)), h.hi), bytesPerKey: 0, memoryBytesDelta: 0 };
  }
  if (impl === 'ts-model') {
    const take = createReferenceCore().gcra.take;
    for (let i = 0; i < n; i++) take(keys[i]!, RATE_PER_SEC, BURST, T0);
    const memoryBytesDelta = heapBytes() - base;
    return { decide: (i, now) => take(keyOf(i), RATE_PER_SEC, BURST, now), bytesPerKey: memoryBytesDelta / n, memoryBytesDelta };
  }
  const limiter = new rlf.RateLimiterMemory({ points: BURST, duration: BURST / RATE_PER_SEC });
  for (let i = 0; i < n; i++) await limiter.consume(keys[i]!).catch(() => 0);
  const memoryBytesDelta = heapBytes() - base;
  return { decide: (i) => limiter.consume(keyOf(i)).then(() => 0, () => 1), bytesPerKey: memoryBytesDelta / n, memoryBytesDelta };
}

async function main(): Promise<void> {
  const impl = process.argv[2] as Impl;
  const n = Number(process.argv[3]);
  const mode = (process.argv[4] ?? 'prebuilt') as KeyMode;
  // Recipients as a request parser leaves them: JSON.parse makes flat (sequential) strings. Built
  // with a template they would be cons strings (13+ chars), read through an indirection on every
  // character: measured ~2x the cost of hashing them (10^5 keys, 2-core machine), a cost no
  // parsed request has.
  const recipients = JSON.parse(JSON.stringify(Array.from({ length: n }, (_, i) => `5511${(900_000_000 + i * 7).toString()}`))) as string[];
  const keys = recipients.map((r) => `${PHONE_NUMBER_ID}:${r}`);
  // Flatten the concatenated strings now (V8 does it on first read of their characters), so the
  // flat copies count for no implementation's bytes/key: they belong to the caller.
  let flat = 0;
  for (const k of keys) flat ^= k.charCodeAt(0);
  if (flat < 0) throw new Error('unreachable'); // uses the loads, so they stay
  const step = stride(n);
  const order = new Int32Array(n);
  for (let c = 0, i = 0; c < n; c++, i = (i + step) % n) order[c] = i;
  const { decide, bytesPerKey, memoryBytesDelta } = await setup(impl, n, mode, recipients, keys, order);

  // Per round ~0.2-0.5 s on the shared 2-core machine; rate-limiter-flexible is ~10x slower per decision.
  const isAsync = impl === 'rate-limiter-flexible';
  const batched = impl === 'wasm-batch';
  const perRound = isAsync ? 100_000 : 500_000;
  const calls = batched ? Math.ceil(perRound / BATCH) : perRound;
  const roundsPerSec: number[] = [];
  const roundsPerCpuSec: number[] = [];
  let c = 0; // op counter over all rounds: every round continues the same sequence
  for (let round = -1; round < ROUNDS; round++) {
    // Round -1 warms the JIT up and is not reported.
    const start = process.hrtime.bigint();
    const cpuStart = process.cpuUsage();
    for (let k = 0; k < calls; k++, c++) {
      const now = T0 + 2 + (batched ? c * BATCH : c) / 1000;
      const r = decide(batched ? c : order[c % n]!, now);
      if (isAsync) await r;
    }
    const cpu = process.cpuUsage(cpuStart);
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const done = batched ? calls * BATCH : calls;
    if (round >= 0) {
      roundsPerSec.push(done / seconds);
      roundsPerCpuSec.push(done / ((cpu.user + cpu.system) / 1e6));
    }
  }
  const result: WorkerResult = { impl, keys: n, mode, roundsPerSec, roundsPerCpuSec, bytesPerKey, memoryBytesDelta };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

await main();
