import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CoreKey } from '../../src/core/keyhash.js';
import { Fifo } from '../../src/dispatch/deque.js';
import { Lane, type Job } from '../../src/dispatch/lane.js';
import { MinHeap } from '../../src/dispatch/min-heap.js';
import type { MessageRecord, Priority } from '../../src/store/types.js';

describe('MinHeap', () => {
  it('pops in (atMs, insertion) order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 300 }), (times) => {
        const heap = new MinHeap<{ atMs: number; seq?: number; i: number }>();
        times.forEach((atMs, i) => heap.push({ atMs, i }));
        const out: number[] = [];
        for (let e = heap.pop(); e !== undefined; e = heap.pop()) out.push(e.i);
        const expected = times.map((atMs, i) => ({ atMs, i })).sort((a, b) => a.atMs - b.atMs || a.i - b.i).map((e) => e.i);
        expect(out).toEqual(expected);
      }),
    );
  });
});

describe('Fifo', () => {
  it('behaves like an array queue across compactions and removals', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.constant(-2), fc.integer({ min: 0, max: 9 })), { maxLength: 5000 }), (ops) => {
        const q = new Fifo<number>();
        let model: number[] = [];
        for (const op of ops) {
          if (op === -1) expect(q.shift()).toBe(model.shift());
          else if (op === -2) {
            expect(q.removeWhere((x) => x % 3 === 0)).toEqual(model.filter((x) => x % 3 === 0));
            model = model.filter((x) => x % 3 !== 0);
          } else {
            q.push(op);
            model.push(op);
          }
          expect(q.length).toBe(model.length);
          expect(q.peek()).toBe(model[0]);
        }
        expect([...q]).toEqual(model);
      }),
    );
  });
});

let n = 0;
function job(priority: Priority, to = '15550000001'): Job {
  const rec = { id: `m${n++}`, to, priority, createdAtMs: n } as MessageRecord;
  return { rec, attempts: 0, throttled: 0, lastError: null };
}

describe('Lane ordering', () => {
  it('priority 0 first, FIFO inside a priority, retries (due) before fresh ones of the same priority', () => {
    const lane = new Lane('1001', 't');
    const a = job(1), b = job(0), c = job(1), d = job(0), r = job(1);
    for (const j of [a, b, c, d]) lane.enqueueFresh(j);
    lane.enqueueDue(r);
    lane.depth = 5;
    const order: Job[] = [];
    for (let j = lane.peekReady(0); j !== undefined; j = lane.peekReady(0)) order.push(lane.shiftHead()!);
    expect(order).toEqual([b, d, r, a, c]);
    expect(lane.depth).toBe(0);
  });

  it('a parked recipient is held without blocking others, and released in order after the park', () => {
    const lane = new Lane('1001', 't');
    const p1 = job(1, 'parked'), o1 = job(1, 'other'), p2 = job(1, 'parked'), o2 = job(1, 'other');
    for (const j of [p1, o1, p2, o2]) lane.enqueueFresh(j);
    lane.park('parked', 1000, true);
    const first: Job[] = [];
    for (let j = lane.peekReady(0); j !== undefined; j = lane.peekReady(0)) first.push(lane.shiftHead()!);
    expect(first).toEqual([o1, o2]);
    expect(lane.release('parked', 999)).toBe(false);
    expect(lane.release('parked', 1000)).toBe(true);
    const second: Job[] = [];
    for (let j = lane.peekReady(1000); j !== undefined; j = lane.peekReady(1000)) second.push(lane.shiftHead()!);
    expect(second).toEqual([p1, p2]);
    expect(lane.parks.get('parked')?.strikes).toBe(1);
    lane.clearStrikes('parked');
    expect(lane.parks.has('parked')).toBe(false);
  });
});

describe('Lane: a park that ended before its release wake-up ran', () => {
  it('serves the held messages before a newer one to the same recipient (FIFO per recipient)', () => {
    const lane = new Lane('1001', 't');
    const p1 = job(1, 'parked'), p2 = job(1, 'parked');
    lane.enqueueFresh(p1);
    lane.enqueueFresh(p2);
    lane.depth = 2;
    lane.park('parked', 1000, false);
    expect(lane.peekReady(0)).toBeUndefined(); // both held
    const p3 = job(1, 'parked'); // newer: arrives once the park has ended
    lane.enqueueFresh(p3);
    lane.depth++;
    const order: Job[] = [];
    for (let j = lane.peekReady(1000); j !== undefined; j = lane.peekReady(1000)) order.push(lane.shiftHead()!);
    expect(order).toEqual([p1, p2, p3]);
    expect(lane.depth).toBe(0);
  });

  it('counts messages committed ahead of their pair token per recipient', () => {
    const lane = new Lane('1001', 't');
    lane.addPairAhead('a', 1);
    lane.addPairAhead('a', 1);
    lane.addPairAhead('b', 1);
    lane.addPairAhead('a', -1);
    expect(lane.pairAhead.get('a')).toBe(1);
    lane.addPairAhead('a', -1);
    lane.addPairAhead('b', -1);
    expect(lane.pairAhead.size).toBe(0);
    // The pair key is the recipient hashed under the lane's pair group, distinct per number and recipient.
    const key = lane.pairKey('15550000001');
    expect(key.parts()).toEqual(['pair:1001', '15550000001']);
    expect([key.hi, key.lo]).toEqual([CoreKey.of('pair:1001').member('15550000001').hi, CoreKey.of('pair:1001').member('15550000001').lo]);
    expect([key.hi, key.lo]).not.toEqual([new Lane('1002', 't').pairKey('15550000001').hi, new Lane('1002', 't').pairKey('15550000001').lo]);
  });
});
