/**
 * The ordering rules of src/store/transitions.ts, checked over random event sequences: whatever
 * order webhooks and dispatcher changes arrive in, a record never moves backwards.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyTransition, canTransition, initialRecord } from '../../src/store/transitions.js';
import { FINAL_STATES, type MessageRecord, type MessageState, type Transition } from '../../src/store/types.js';
import { message } from './conformance.js';

const err = { code: 131000, title: 'Something went wrong', details: '', httpStatus: 500 };

const transition: fc.Arbitrary<Transition> = fc.oneof(
  fc.record({ state: fc.constant('sending' as const), attempts: fc.nat(9), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('queued' as const), notBeforeMs: fc.nat(1e6), lastError: fc.constant(null), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('sent' as const), wamid: fc.constantFrom('wamid.1', 'wamid.2'), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constantFrom('delivered' as const, 'read' as const), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constant('failed' as const), lastError: fc.constant(err), atMs: fc.nat(1e6) }),
  fc.record({ state: fc.constantFrom('expired' as const, 'rejected' as const), atMs: fc.nat(1e6) }),
);

/** Position along sent → delivered → read; other states are not on that line. */
const PROGRESS: Partial<Record<MessageState, number>> = { sent: 0, delivered: 1, read: 2 };

describe('transition rules', () => {
  it('once final, a record only moves forward along sent → delivered → read (or sent → failed)', () => {
    fc.assert(
      fc.property(fc.array(transition, { maxLength: 30 }), (changes) => {
        let record: MessageRecord = initialRecord(message());
        for (const change of changes) {
          const next = applyTransition(record, change);
          if (next === null) continue;
          if (record.state === 'sent' && next.state === 'failed') {
            expect(next.wamid).toBe(record.wamid);
          } else if (FINAL_STATES.has(record.state)) {
            const from = PROGRESS[record.state];
            const to = PROGRESS[next.state];
            expect(from).toBeDefined();
            expect(to).toBeDefined();
            expect(to!).toBeGreaterThan(from!);
            // The send itself is settled: the wamid and attempts never change after `sent`.
            expect(next.wamid).toBe(record.wamid);
            expect(next.attempts).toBe(record.attempts);
          }
          record = next;
        }
      }),
    );
  });

  it('the final state does not depend on the order delivered and read arrive in', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(['delivered', 'read', 'delivered', 'read'] as const, { minLength: 1 }), (statuses) => {
        let record: MessageRecord | null = applyTransition(initialRecord(message()), { state: 'sent', wamid: 'w', atMs: 1 });
        for (const state of statuses) record = applyTransition(record!, { state, atMs: 2 }) ?? record;
        expect(record!.state).toBe(statuses.includes('read') ? 'read' : 'delivered');
      }),
    );
  });

  it('leaves the input record untouched', () => {
    const record = initialRecord(message());
    const copy = structuredClone(record);
    applyTransition(record, { state: 'sent', wamid: 'w', atMs: 5 });
    expect(record).toEqual(copy);
  });

  it('lists exactly which states enter which', () => {
    const all: MessageState[] = ['queued', 'sending', 'sent', 'delivered', 'read', 'failed', 'expired', 'rejected'];
    const allowed = all.flatMap((from) => all.filter((to) => canTransition(from, to)).map((to) => `${from}>${to}`));
    expect(allowed.sort()).toEqual([
      'delivered>read',
      ...['queued', 'sending'].flatMap((from) =>
        ['expired', 'failed', 'queued', 'rejected', 'sending', 'sent'].map((to) => `${from}>${to}`)),
      'sent>delivered',
      'sent>failed',
      'sent>read',
    ].sort());
  });
});
