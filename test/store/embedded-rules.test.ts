/**
 * The embedded store applies transitions with conditional UPDATEs built from the ordering rules;
 * this checks, over random event sequences, that the stored record always equals what the pure
 * rules (applyTransition) give — the SQL and the TypeScript can never drift apart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import { applyTransition, initialRecord } from '../../src/store/transitions.js';
import type { MessageRecord, Transition } from '../../src/store/types.js';
import { message } from './conformance.js';

const err = { code: 131026, title: 'Message undeliverable', details: 'x', httpStatus: 400 };
const transition: fc.Arbitrary<Transition> = fc.oneof(
  fc.record({ state: fc.constant('sending' as const), attempts: fc.nat(9), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('queued' as const), notBeforeMs: fc.nat(1e6), lastError: fc.constantFrom(null, err), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('sent' as const), wamid: fc.constantFrom('wamid.1', 'wamid.2'), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constantFrom('delivered' as const, 'read' as const), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('failed' as const), lastError: fc.constant(err), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constantFrom('expired' as const, 'rejected' as const), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('expired' as const), lastError: fc.constant(err), atMs: fc.nat(1e6) }),
);

const dir = mkdtempSync(join(tmpdir(), 'sendgate-rules-'));
const store = new EmbeddedStore({ path: dir, clock: new ManualClock() });
afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded store transitions', () => {
  it('match the pure ordering rules on every random sequence', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(transition, { maxLength: 12 }), async (changes) => {
        const m = { ...message(), id: `rules-${n++}` };
        await store.enqueue(m);
        let expected: MessageRecord = initialRecord(m);
        for (const change of changes) {
          const next = applyTransition(expected, change);
          expect(await store.transition(m.id, change)).toBe(next !== null);
          if (next !== null) expected = next;
        }
        expect(await store.get(m.tenantId, m.id)).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
