/**
 * Property: whatever the interleaving of admissions, releases (failed enqueue), failed sends and
 * small clock steps, the tier count on the core equals the number of recipients with at least one
 * live admission, never exceeds the limit, and a new recipient is refused exactly when it is full.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Admission } from '../../src/gateway/ports.js';
import { harness, recipient, TENANT, template } from './harness.js';

// A small live limit (setMessagingLimit) over slightly more recipients keeps the window full often.
const LIMIT = 20;
const RECIPIENTS = 30;

type Op =
  | { kind: 'admit'; r: number }
  | { kind: 'release'; pick: number }
  | { kind: 'fail'; pick: number }
  | { kind: 'tick'; ms: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('admit' as const), r: fc.integer({ min: 0, max: RECIPIENTS - 1 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('release' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('fail' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 60_000 }) }) },
);

describe('messaging limit (property)', () => {
  it('count = recipients with a live admission, <= limit; refusal iff full and new', async () => {
    let refusals = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 50, maxLength: 400 }), async (ops) => {
        const h = await harness({ policy: { optIn: 'off' } });
        h.engine.setMessagingLimit(TENANT, LIMIT);
        const live: Array<{ r: number; admission: Admission }> = [];
        const holders = new Map<number, number>();
        const held = (): number => [...holders.values()].filter((n) => n > 0).length;
        const body = template('order_update', ['A-1']);
        try {
          for (const o of ops) {
            if (o.kind === 'admit') {
              const wasHeld = (holders.get(o.r) ?? 0) > 0;
              const full = held() >= LIMIT;
              let admitted = true;
              try {
                const admission = h.admit({ to: recipient(o.r), body, category: 'utility' });
                live.push({ r: o.r, admission });
              } catch (err) {
                expect((err as { code: string }).code).toBe('MESSAGING_LIMIT_REACHED');
                admitted = false;
                refusals++;
              }
              expect(admitted).toBe(wasHeld || !full);
              if (admitted) holders.set(o.r, (holders.get(o.r) ?? 0) + 1);
            } else if (o.kind === 'tick') {
              h.clock.advance(o.ms);
            } else if (live.length > 0) {
              const [ended] = live.splice(o.pick % live.length, 1);
              if (o.kind === 'release') ended!.admission.release();
              else h.engine.onFinal({ tenantId: TENANT, to: recipient(ended!.r), state: 'failed' });
              holders.set(ended!.r, holders.get(ended!.r)! - 1);
            }
            const count = h.core.unique.count(TENANT, h.clock.nowMs());
            expect(count).toBe(held());
            expect(count).toBeLessThanOrEqual(LIMIT);
          }
        } finally {
          h.engine.close();
        }
      }),
      { numRuns: 15 },
    );
    expect(refusals).toBeGreaterThan(0);
  });
});
