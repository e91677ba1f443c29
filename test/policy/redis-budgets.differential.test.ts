/**
 * Differential test of the shared budgets: random operation sequences, with random clocks, through
 * the budget Lua script on a real redis-server and through the reference model
 * (src/core/reference.ts); every answer must be identical: the single verbs (unique charge,
 * release, count; repeat take, release) and admission's one call (tier then repeat, a refused
 * repeat giving back a tier charge made by the same call), composed over the reference in the
 * engine's order. Each run gets its own key prefix.
 *
 * The script's clock clamp is per tenant (a fleet has no process-wide clock), the reference's per
 * core: sequences with steps back use one tenant, sequences over several tenants a forward clock.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCore, type ReferenceCore } from '../../src/core/reference.js';
import { RedisBudgets } from '../../src/policy/redis-budgets.js';
import { defineScripts, type RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { startRedis, type RedisServer } from '../support/redis-server.js';

const T0 = 1_700_000_000_000;

let server: RedisServer;
let client: RedisClient;

beforeAll(async () => {
  server = await startRedis();
  client = await connectRedis(parseRedisUrl(server.url));
});

afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

/** The reference's budget verbs, answered by the script. */
interface Budgets {
  /** Admission's one call: tier then repeat; a refused repeat gives back a tier charge made now. Answers tier * 1e9 + repeat. */
  both(s: string, r: string, limit: number, f: string, w: number, max: number, t: number): Promise<number>;
  uniqueCharge(s: string, r: string, limit: number, t: number): Promise<number>;
  uniqueRelease(s: string, r: string, t: number): Promise<void>;
  uniqueCount(s: string, t: number): Promise<number>;
  repeatTake(s: string, f: string, r: string, w: number, max: number, t: number): Promise<number>;
  repeatRelease(s: string, f: string, r: string, t: number): Promise<void>;
}

function scriptBudgets(): Budgets {
  const b = new RedisBudgets(defineScripts(client), new RedisKeys(`diff-${randomBytes(6).toString('hex')}`));
  return {
    both: async (s, r, limit, f, w, max, t) => {
      const a = await b.charge(s, r, { limit, hold: false, shadow: false, repeat: { fingerprint: f, windowMs: w, maxRecipients: max } }, t);
      return a.tier * 1e9 + a.repeat;
    },
    uniqueCharge: async (s, r, limit, t) => Math.max(0, (await b.charge(s, r, { limit, hold: false, shadow: false }, t)).tier),
    uniqueRelease: async (s, r, t) => void (await b.release(s, r, 'force', undefined, t)),
    uniqueCount: (s, t) => b.count(s, t),
    repeatTake: async (s, f, r, w, max, t) => (await b.charge(s, r, { hold: false, shadow: false, repeat: { fingerprint: f, windowMs: w, maxRecipients: max } }, t)).repeat,
    repeatRelease: async (s, f, r, t) => void (await b.release(s, r, 'none', f, t)),
  };
}

function referenceBudgets(ref: ReferenceCore): Budgets {
  return {
    // The engine's order over the reference (engine.ts admit): a new charge shows as the count growing by one.
    both: async (s, r, limit, f, w, max, t) => {
      const before = ref.unique.count(s, t);
      const tier = ref.unique.charge(s, r, limit, t);
      if (tier > 0) return tier * 1e9 + -2;
      const fresh = ref.unique.count(s, t) - before === 1;
      const repeat = ref.repeat.take(s, f, r, w, max, t);
      if (repeat > 0 && fresh) ref.unique.release(s, r, t);
      return (fresh ? 0 : -1) * 1e9 + repeat;
    },
    uniqueCharge: async (s, r, limit, t) => ref.unique.charge(s, r, limit, t),
    uniqueRelease: async (s, r, t) => ref.unique.release(s, r, t),
    uniqueCount: async (s, t) => ref.unique.count(s, t),
    repeatTake: async (s, f, r, w, max, t) => ref.repeat.take(s, f, r, w, max, t),
    repeatRelease: async (s, f, r, t) => ref.repeat.release(s, f, r, t),
  };
}

const recipient = fc.constantFrom('15550000001', '15550000002', '15550000003', '5511999990000', '447700900123');
const limit = fc.integer({ min: 0, max: 4 });
/** A fingerprint keeps its window in a sequence: the reference re-buckets a changed window without moving its members. */
const fingerprint = fc.constantFrom(
  { f: '0123456789abcdef', w: 1_000 },
  { f: 't\u0000promo\u0000ABC-20', w: 60_000 },
  { f: 'ffffffffffffffff', w: 7_777 },
  { f: 'h00ff00ff00ff00ff', w: 3_600_000 },
);
/** Mostly small steps, some past a bucket or a whole window (24 h expiry), some backwards. */
const step = (back: boolean) => fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000 }) },
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 120_000 }) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 90_000_000 }) },
  { weight: back ? 1 : 0, arbitrary: fc.integer({ min: -60_000, max: -1 }) },
);

interface Op { name: string; step: number; run(b: Budgets, t: number): Promise<number> }

function ops(tenant: fc.Arbitrary<string>, back: boolean): fc.Arbitrary<Op> {
  const s = step(back);
  return fc.oneof(
    { weight: 4, arbitrary: fc.record({ t: tenant, r: recipient, l: limit, step: s }).map(({ t: tn, r, l, step }) => ({
      name: `unique.charge ${tn} ${r} ${l}`, step, run: (b: Budgets, t: number) => b.uniqueCharge(tn, r, l, t),
    })) },
    { weight: 2, arbitrary: fc.record({ t: tenant, r: recipient, step: s }).map(({ t: tn, r, step }) => ({
      name: `unique.release ${tn} ${r}`, step, run: async (b: Budgets, t: number) => (await b.uniqueRelease(tn, r, t), -9),
    })) },
    { weight: 1, arbitrary: fc.record({ t: tenant, step: s }).map(({ t: tn, step }) => ({
      name: `unique.count ${tn}`, step, run: (b: Budgets, t: number) => b.uniqueCount(tn, t),
    })) },
    { weight: 4, arbitrary: fc.record({ t: tenant, fp: fingerprint, r: recipient, l: limit, step: s }).map(({ t: tn, fp, r, l, step }) => ({
      name: `repeat.take ${tn} ${JSON.stringify(fp.f)} ${r} ${fp.w} ${l}`, step, run: (b: Budgets, t: number) => b.repeatTake(tn, fp.f, r, fp.w, l, t),
    })) },
    { weight: 4, arbitrary: fc.record({ t: tenant, fp: fingerprint, r: recipient, l: limit, m: limit, step: s }).map(({ t: tn, fp, r, l, m, step }) => ({
      name: `both ${tn} ${r} ${l} ${JSON.stringify(fp.f)} ${fp.w} ${m}`, step, run: (b: Budgets, t: number) => b.both(tn, r, l, fp.f, fp.w, m, t),
    })) },
    { weight: 1, arbitrary: fc.record({ t: tenant, fp: fingerprint, r: recipient, step: s }).map(({ t: tn, fp, r, step }) => ({
      name: `repeat.release ${tn} ${JSON.stringify(fp.f)} ${r}`, step, run: async (b: Budgets, t: number) => (await b.repeatRelease(tn, fp.f, r, t), -9),
    })) },
  );
}

async function sameAnswers(sequence: readonly Op[]): Promise<void> {
  const script = scriptBudgets();
  const reference = referenceBudgets(createReferenceCore());
  let now = T0;
  for (const [i, o] of sequence.entries()) {
    now += o.step;
    const a = await o.run(script, now);
    const b = await o.run(reference, now);
    if (a !== b) expect({ i, op: o.name, now, script: a }).toEqual({ i, op: o.name, now, script: b });
  }
}

describe('budget script vs reference model', () => {
  it('gives identical answers for one tenant, clocks that sometimes step back', async () => {
    await fc.assert(fc.asyncProperty(fc.array(ops(fc.constant('acme'), true), { minLength: 1, maxLength: 80 }), sameAnswers), { numRuns: 150 });
  }, 120_000);

  it('gives identical answers over several tenants (a forward clock)', async () => {
    const tenant = fc.constantFrom('acme', 'other', 'tenant-{x}');
    await fc.assert(fc.asyncProperty(fc.array(ops(tenant, false), { minLength: 1, maxLength: 80 }), sameAnswers), { numRuns: 100 });
  }, 120_000);

  it('answers a full tier with the same wait as the reference, bucket by bucket', async () => {
    const script = scriptBudgets();
    const reference = referenceBudgets(createReferenceCore());
    let now = T0;
    for (let i = 0; i < 40; i++) {
      now += 37_000;
      for (const b of [script, reference]) await b.uniqueCharge('acme', `1555000${1000 + i}`, 25, now);
    }
    for (let k = 0; k < 30; k++) {
      now += 3_600_000;
      const a = await script.uniqueCharge('acme', `1666000${k}`, 25, now);
      expect(a).toBe(await reference.uniqueCharge('acme', `1666000${k}`, 25, now));
      expect(await script.uniqueCount('acme', now)).toBe(await reference.uniqueCount('acme', now));
    }
  }, 60_000);
});
