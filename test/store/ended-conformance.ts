/**
 * What every Store does for operators (src/store/ended.ts): failed and expired messages listed
 * newest first with cursor paging and filters, and requeued with a fresh deadline and attempt
 * budget. Run against each implementation next to the main conformance suite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import type { EndedState } from '../../src/store/ended.js';
import type { RecordedError, Store } from '../../src/store/types.js';
import { message, type StoreHarness } from './conformance.js';

const T0 = 1_700_000_000_000;
const HOUR_MS = 3_600_000;
const refused: RecordedError = { code: 131026, title: 'Message undeliverable', details: 'not on WhatsApp', httpStatus: 400 };

export function describeEndedConformance(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store operator records: ${name}`, () => {
    let harness: StoreHarness;
    let clock: ManualClock;
    let store: Store;

    beforeEach(async () => {
      harness = await makeStore();
      clock = new ManualClock(T0);
      store = await harness.open(clock);
    });

    afterEach(async () => {
      await store.close();
      await harness.destroy();
    });

    /** Enqueues a message and ends it in `state` at the clock's time (advanced 1 ms per message). */
    async function ended(state: EndedState, overrides: Parameters<typeof message>[0] = {}): Promise<string> {
      const m = message({ createdAtMs: clock.nowMs(), deadlineAtMs: clock.nowMs() + HOUR_MS, ...overrides });
      await store.enqueue(m);
      clock.advance(1);
      await store.transition(m.id, { state: 'sending', attempts: 1, atMs: clock.nowMs() });
      expect(await store.transition(m.id, state === 'failed' ? { state, lastError: refused, atMs: clock.nowMs() } : { state, atMs: clock.nowMs() })).toBe(true);
      clock.advance(1);
      return m.id;
    }

    it('lists failed messages newest first, a page at a time, and nothing else', async () => {
      const ids = [];
      for (let i = 0; i < 5; i++) ids.push(await ended('failed'));
      await ended('expired');
      const sent = message();
      await store.enqueue(sent);
      await store.transition(sent.id, { state: 'sent', wamid: 'wamid.x', atMs: clock.nowMs() });

      const first = await store.listEnded({ state: 'failed', limit: 2, after: null });
      expect(first.records.map((r) => r.id)).toEqual([ids[4], ids[3]]);
      expect(first.records[0]).toMatchObject({ state: 'failed', lastError: refused });
      expect(first.next).not.toBeNull();
      const second = await store.listEnded({ state: 'failed', limit: 2, after: first.next });
      expect(second.records.map((r) => r.id)).toEqual([ids[2], ids[1]]);
      const third = await store.listEnded({ state: 'failed', limit: 2, after: second.next });
      expect(third.records.map((r) => r.id)).toEqual([ids[0]]);
      expect(third.next).toBeNull();

      const expired = await store.listEnded({ state: 'expired', limit: 10, after: null });
      expect(expired.records).toHaveLength(1);
      expect(expired.records[0]!.state).toBe('expired');
    });

    it('keeps the order of messages that ended in the same millisecond across pages', async () => {
      const ids = [];
      for (let i = 0; i < 4; i++) {
        const m = message({ createdAtMs: clock.nowMs() });
        await store.enqueue(m);
        ids.push(m.id);
      }
      for (const id of ids) await store.transition(id, { state: 'expired', atMs: clock.nowMs() });
      const seen: string[] = [];
      let after: string | null = null;
      do {
        const page = await store.listEnded({ state: 'expired', limit: 1, after });
        seen.push(...page.records.map((r) => r.id));
        after = page.next;
      } while (after !== null);
      expect(seen).toEqual([...ids].reverse());
    });

    it('filters by tenant and by number', async () => {
      const a1 = await ended('failed', { tenantId: 'acme', phoneNumberId: '1001' });
      const a2 = await ended('failed', { tenantId: 'acme', phoneNumberId: '1002' });
      const g1 = await ended('failed', { tenantId: 'globex', phoneNumberId: '2001' });
      const ids = async (q: { tenantId?: string; phoneNumberId?: string }) =>
        (await store.listEnded({ state: 'failed', limit: 10, after: null, ...q })).records.map((r) => r.id);
      expect(await ids({})).toEqual([g1, a2, a1]);
      expect(await ids({ tenantId: 'acme' })).toEqual([a2, a1]);
      expect(await ids({ phoneNumberId: '1002' })).toEqual([a2]);
      expect(await ids({ tenantId: 'globex', phoneNumberId: '1001' })).toEqual([]);
    });

    it('requeues a failed message with a fresh deadline and attempt budget, durably', async () => {
      const id = await ended('failed');
      clock.advance(HOUR_MS);
      const deadlineAtMs = clock.nowMs() + 4 * HOUR_MS;
      const record = await store.requeue(id, { atMs: clock.nowMs(), deadlineAtMs });
      expect(record).toMatchObject({ id, state: 'queued', attempts: 0, notBeforeMs: clock.nowMs(), deadlineAtMs, lastError: refused });
      expect(record?.throttled).toBeUndefined();
      expect((await store.listEnded({ state: 'failed', limit: 10, after: null })).records).toEqual([]);

      // Back in its number's queue, and so after a restart too.
      await store.close();
      store = await harness.open(clock);
      const page = await store.queuePage({ phoneNumberId: '1001', priority: 1, after: null, dueByMs: clock.nowMs(), limit: 10 });
      expect(page.records.map((r) => r.id)).toEqual([id]);
      expect((await store.queueCounts()).find((c) => c.phoneNumberId === '1001')?.count).toBe(1);

      // It runs its course again: sent this time, and no longer requeueable.
      expect(await store.transition(id, { state: 'sending', attempts: 1, atMs: clock.nowMs() })).toBe(true);
      expect(await store.transition(id, { state: 'sent', wamid: 'wamid.again', atMs: clock.nowMs() })).toBe(true);
      expect(await store.requeue(id, { atMs: clock.nowMs(), deadlineAtMs })).toBeNull();
    });

    it('requeues an expired message; refuses unknown ids and messages not ended unsent', async () => {
      const id = await ended('expired');
      expect(await store.requeue('no-such-id', { atMs: clock.nowMs(), deadlineAtMs: clock.nowMs() + HOUR_MS })).toBeNull();
      const queued = message();
      await store.enqueue(queued);
      expect(await store.requeue(queued.id, { atMs: clock.nowMs(), deadlineAtMs: clock.nowMs() + HOUR_MS })).toBeNull();
      expect((await store.get('acme', queued.id))?.state).toBe('queued');

      const record = await store.requeue(id, { atMs: clock.nowMs(), deadlineAtMs: clock.nowMs() + HOUR_MS });
      expect(record?.state).toBe('queued');
      // Expired again later: listed once, at its new time.
      clock.advance(10);
      await store.transition(id, { state: 'expired', atMs: clock.nowMs() });
      const listed = await store.listEnded({ state: 'expired', limit: 10, after: null });
      expect(listed.records.map((r) => [r.id, r.updatedAtMs])).toEqual([[id, clock.nowMs()]]);
    });
  });
}
