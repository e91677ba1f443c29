/**
 * RecencyMap keeps the order a Map keyed by joined strings keeps under delete + set: a model test
 * against exactly that, over random operation sequences.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecencyMap } from '../../src/policy/recency-map.js';

type Op = { kind: 'set'; g: string; m: string; v: number } | { kind: 'delete'; g: string; m: string } | { kind: 'dropOldest' };

const name = fc.constantFrom('a', 'b', 'c', 'ab', '');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), g: name, m: name, v: fc.integer() }),
  fc.record({ kind: fc.constant('delete' as const), g: name, m: name }),
  fc.record({ kind: fc.constant('dropOldest' as const) }),
);

describe('RecencyMap', () => {
  it('answers, orders and drops as a Map with delete + set on joined keys', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const map = new RecencyMap<number>();
      const model = new Map<string, number>();
      const key = (g: string, m: string) => `${g}\u0000${m}`;
      for (const o of ops) {
        if (o.kind === 'set') {
          map.set(o.g, o.m, o.v);
          model.delete(key(o.g, o.m));
          model.set(key(o.g, o.m), o.v);
        } else if (o.kind === 'delete') {
          expect(map.delete(o.g, o.m)).toBe(model.delete(key(o.g, o.m)));
        } else {
          const oldest = map.oldest();
          const first = model.keys().next();
          expect(oldest === undefined).toBe(first.done === true);
          if (oldest !== undefined) {
            expect(key(oldest.group, oldest.member)).toBe(first.value);
            map.remove(oldest);
            model.delete(first.value!);
          }
        }
        expect(map.size).toBe(model.size);
      }
      for (const [k, v] of model) {
        const [g, m] = k.split('\u0000') as [string, string];
        expect(map.get(g, m)?.value).toBe(v);
      }
      // Same order, oldest first.
      const drained: string[] = [];
      for (let e = map.oldest(); e !== undefined; e = map.oldest()) {
        drained.push(key(e.group, e.member));
        map.remove(e);
      }
      expect(drained).toEqual([...model.keys()]);
    }), { numRuns: 500 });
  });

  it('removing an entry twice changes nothing the second time', () => {
    const map = new RecencyMap<number>();
    const e = map.set('t', 'r', 1);
    map.set('t', 's', 2);
    map.remove(e);
    map.remove(e);
    expect(map.size).toBe(1);
    expect(map.get('t', 's')?.value).toBe(2);
    expect(map.get('t', 'r')).toBeUndefined();
    // A stale entry does not remove the one set since under the same key.
    const again = map.set('t', 'r', 3);
    map.remove(e);
    expect(map.get('t', 'r')).toBe(again);
    expect(map.size).toBe(2);
    expect(map.oldest()?.member).toBe('s');
  });
});
