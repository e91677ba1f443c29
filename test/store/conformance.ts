/**
 * The conformance suite every Store implementation must pass (embedded now, Redis next).
 * It only talks to the Store seam; implementation details (batching, files) are tested elsewhere.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, type Clock } from '../../src/clock.js';
import type { NewMessage, RecordedError, Store } from '../../src/store/types.js';

export interface StoreHarness {
  /** Opens a store over this harness's data; after close(), opening again must see every commit. */
  open(clock: Clock): Promise<Store>;
  /** Removes the harness's data (temp dir, key prefix). */
  destroy(): Promise<void>;
}

const T0 = 1_700_000_000_000;
const HOUR_MS = 3_600_000;
let counter = 0;

export function message(overrides: Partial<NewMessage> = {}): NewMessage {
  counter++;
  return {
    id: `m${counter.toString(36)}-${Math.random().toString(36).slice(2, 10)}`,
    tenantId: 'acme',
    phoneNumberId: '1001',
    to: '15551234567',
    toInput: '+1 555 123 4567',
    body: JSON.stringify({ messaging_product: 'whatsapp', to: '15551234567', type: 'text', text: { body: `hi ${counter}` } }),
    priority: 1,
    createdAtMs: T0 + counter,
    deadlineAtMs: T0 + counter + 4 * HOUR_MS,
    idempotencyKey: null,
    bodyHash: null,
    ...overrides,
  };
}

const upstreamError: RecordedError = { code: 131056, title: 'Pair rate limit hit', details: 'slow down', httpStatus: 400 };

export function describeStoreConformance(name: string, makeStore: () => Promise<StoreHarness>): void {
  describe(`Store conformance: ${name}`, () => {
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

    /** Closes the store and opens a new one over the same data. */
    async function reopen(): Promise<Store> {
      await store.close();
      store = await harness.open(clock);
      return store;
    }

    describe('enqueue and get', () => {
      it('stores a new message as queued with the fields it was given', async () => {
        const m = message({ priority: 0 });
        const outcome = await store.enqueue(m);
        expect(outcome.kind).toBe('created');
        const got = await store.get(m.tenantId, m.id);
        expect(got).toMatchObject({ ...m, state: 'queued', attempts: 0, wamid: null, lastError: null });
        expect(got?.sentAtMs).toBeNull();
        expect(outcome.kind === 'created' && outcome.record).toEqual(got);
      });

      it('answers null for an unknown id', async () => {
        expect(await store.get('acme', 'no-such-id')).toBeNull();
      });

      it("never shows a tenant another tenant's message", async () => {
        const m = message({ tenantId: 'acme' });
        await store.enqueue(m);
        expect(await store.get('globex', m.id)).toBeNull();
        expect((await store.get('acme', m.id))?.id).toBe(m.id);
      });

      it('keeps many concurrent enqueues apart', async () => {
        const batch = Array.from({ length: 200 }, () => message());
        const outcomes = await Promise.all(batch.map((m) => store.enqueue(m)));
        expect(outcomes.every((o) => o.kind === 'created')).toBe(true);
        for (const m of batch) expect((await store.get(m.tenantId, m.id))?.body).toBe(m.body);
      });
    });

    describe('idempotency', () => {
      it('returns the stored message for the same key and body, storing nothing new', async () => {
        const first = message({ idempotencyKey: 'k1', bodyHash: 'h1' });
        await store.enqueue(first);
        const again = message({ idempotencyKey: 'k1', bodyHash: 'h1' });
        const outcome = await store.enqueue(again);
        expect(outcome.kind).toBe('duplicate');
        expect(outcome.kind === 'duplicate' && outcome.record.id).toBe(first.id);
        expect(await store.get(again.tenantId, again.id)).toBeNull();
      });

      it('refuses the same key with a different body, storing nothing', async () => {
        await store.enqueue(message({ idempotencyKey: 'k1', bodyHash: 'h1' }));
        const other = message({ idempotencyKey: 'k1', bodyHash: 'h2' });
        expect(await store.enqueue(other)).toEqual({ kind: 'conflict' });
        expect(await store.get(other.tenantId, other.id)).toBeNull();
      });

      it('scopes keys to the tenant', async () => {
        await store.enqueue(message({ tenantId: 'acme', idempotencyKey: 'k1', bodyHash: 'h1' }));
        const other = message({ tenantId: 'globex', idempotencyKey: 'k1', bodyHash: 'h2' });
        expect((await store.enqueue(other)).kind).toBe('created');
      });

      it('the duplicate reflects the current state of the original', async () => {
        const first = message({ idempotencyKey: 'k1', bodyHash: 'h1' });
        await store.enqueue(first);
        await store.transition(first.id, { state: 'sent', wamid: 'wamid.A', atMs: T0 + 5 });
        const outcome = await store.enqueue(message({ idempotencyKey: 'k1', bodyHash: 'h1' }));
        expect(outcome.kind === 'duplicate' && outcome.record).toMatchObject({ id: first.id, state: 'sent', wamid: 'wamid.A' });
      });

      it('resolves concurrent enqueues with one key: exactly one created, the rest duplicates', async () => {
        const twins = Array.from({ length: 5 }, () => message({ idempotencyKey: 'same', bodyHash: 'h' }));
        const outcomes = await Promise.all(twins.map((m) => store.enqueue(m)));
        const created = outcomes.filter((o) => o.kind === 'created');
        expect(created).toHaveLength(1);
        const createdId = created[0]!.kind === 'created' ? created[0]!.record.id : '';
        for (const o of outcomes) {
          if (o.kind === 'duplicate') expect(o.record.id).toBe(createdId);
        }
        expect(outcomes.filter((o) => o.kind === 'duplicate')).toHaveLength(4);
        const stored = await Promise.all(twins.map((m) => store.get(m.tenantId, m.id)));
        expect(stored.filter((r) => r !== null)).toHaveLength(1);
      });

      it('resolves concurrent enqueues with one key and different bodies: one created, one conflict', async () => {
        const a = message({ idempotencyKey: 'race', bodyHash: 'ha' });
        const b = message({ idempotencyKey: 'race', bodyHash: 'hb' });
        const outcomes = await Promise.all([store.enqueue(a), store.enqueue(b)]);
        expect(outcomes.map((o) => o.kind).sort()).toEqual(['conflict', 'created']);
      });

      it('remembers a key for at least 24 h and across a reopen', async () => {
        const first = message({ idempotencyKey: 'k24', bodyHash: 'h' });
        await store.enqueue(first);
        clock.advance(24 * HOUR_MS);
        await reopen();
        const outcome = await store.enqueue(message({ idempotencyKey: 'k24', bodyHash: 'h' }));
        expect(outcome.kind === 'duplicate' && outcome.record.id).toBe(first.id);
        expect((await store.enqueue(message({ idempotencyKey: 'k24', bodyHash: 'other' }))).kind).toBe('conflict');
      });

      it('finds the original of a key (tenant-scoped) until the key expires', async () => {
        expect(await store.findByIdempotencyKey('acme', 'kf')).toBeNull();
        const first = message({ tenantId: 'acme', idempotencyKey: 'kf', bodyHash: 'hf' });
        await store.enqueue(first);
        await store.transition(first.id, { state: 'sent', wamid: 'wamid.F', atMs: T0 + 1 });
        expect(await store.findByIdempotencyKey('acme', 'kf')).toMatchObject({ bodyHash: 'hf', record: { id: first.id, state: 'sent' } });
        expect(await store.findByIdempotencyKey('globex', 'kf')).toBeNull();
        clock.advance(24 * HOUR_MS);
        expect((await store.findByIdempotencyKey('acme', 'kf'))?.record.id).toBe(first.id);
        clock.advance(25 * HOUR_MS); // past the 48 h the contract's "at least 24 h" is kept to
        expect(await store.findByIdempotencyKey('acme', 'kf')).toBeNull();
      });

      it('messages without a key never collide', async () => {
        const outcomes = await Promise.all([store.enqueue(message()), store.enqueue(message())]);
        expect(outcomes.map((o) => o.kind)).toEqual(['created', 'created']);
      });
    });

    describe('transitions', () => {
      async function stored(): Promise<NewMessage> {
        const m = message();
        await store.enqueue(m);
        return m;
      }

      it('walks the happy path and records each field', async () => {
        const m = await stored();
        expect(await store.transition(m.id, { state: 'sending', attempts: 1, atMs: T0 + 10 })).toBe(true);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'sending', attempts: 1, updatedAtMs: T0 + 10 });
        expect(await store.transition(m.id, { state: 'sent', wamid: 'wamid.X', atMs: T0 + 20 })).toBe(true);
        expect(await store.transition(m.id, { state: 'delivered', atMs: T0 + 30 })).toBe(true);
        expect(await store.transition(m.id, { state: 'read', atMs: T0 + 40 })).toBe(true);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({
          state: 'read', attempts: 1, wamid: 'wamid.X', sentAtMs: T0 + 20, deliveredAtMs: T0 + 30, readAtMs: T0 + 40, updatedAtMs: T0 + 40,
        });
      });

      it('a retry goes back to queued with its backoff and error, then sends again', async () => {
        const m = await stored();
        await store.transition(m.id, { state: 'sending', attempts: 1, atMs: T0 + 1 });
        expect(await store.transition(m.id, { state: 'queued', notBeforeMs: T0 + 5000, lastError: upstreamError, atMs: T0 + 2 })).toBe(true);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'queued', notBeforeMs: T0 + 5000, lastError: upstreamError });
        expect(await store.transition(m.id, { state: 'sending', attempts: 2, atMs: T0 + 5001 })).toBe(true);
        expect((await store.get(m.tenantId, m.id))?.attempts).toBe(2);
      });

      it('records the error of a failure and keeps it final', async () => {
        const m = await stored();
        await store.transition(m.id, { state: 'sending', attempts: 1, atMs: T0 + 1 });
        expect(await store.transition(m.id, { state: 'failed', lastError: upstreamError, atMs: T0 + 2 })).toBe(true);
        expect(await store.transition(m.id, { state: 'queued', notBeforeMs: 0, lastError: null, atMs: T0 + 3 })).toBe(false);
        expect(await store.transition(m.id, { state: 'sent', wamid: 'wamid.late', atMs: T0 + 4 })).toBe(false);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'failed', lastError: upstreamError, wamid: null });
      });

      it('expired and rejected keep an optional error', async () => {
        const a = await stored();
        const b = await stored();
        expect(await store.transition(a.id, { state: 'expired', atMs: T0 + 1 })).toBe(true);
        expect(await store.transition(b.id, { state: 'rejected', atMs: T0 + 1, lastError: upstreamError })).toBe(true);
        expect(await store.get(a.tenantId, a.id)).toMatchObject({ state: 'expired', lastError: null });
        expect(await store.get(b.tenantId, b.id)).toMatchObject({ state: 'rejected', lastError: upstreamError });
      });

      it('an unsent rejection applies only while the message is queued, never once it is sending', async () => {
        const queued = await stored();
        const sending = await stored();
        await store.transition(sending.id, { state: 'sending', attempts: 1, atMs: T0 + 1 });
        expect(await store.transition(sending.id, { state: 'rejected', atMs: T0 + 2, lastError: upstreamError, unsent: true })).toBe(false);
        expect(await store.transition(queued.id, { state: 'rejected', atMs: T0 + 2, lastError: upstreamError, unsent: true })).toBe(true);
        expect(await store.get(sending.tenantId, sending.id)).toMatchObject({ state: 'sending' });
        expect(await store.get(queued.tenantId, queued.id)).toMatchObject({ state: 'rejected', lastError: upstreamError });
        expect(await store.transition(sending.id, { state: 'sent', wamid: 'wamid.s', atMs: T0 + 3 })).toBe(true);
      });

      it('a late delivered after read keeps read', async () => {
        const m = await stored();
        await store.transition(m.id, { state: 'sent', wamid: 'wamid.R', atMs: T0 + 1 });
        expect(await store.transition(m.id, { state: 'read', atMs: T0 + 3 })).toBe(true);
        expect(await store.transition(m.id, { state: 'delivered', atMs: T0 + 2 })).toBe(false);
        expect(await store.transition(m.id, { state: 'sent', wamid: 'wamid.R', atMs: T0 + 4 })).toBe(false);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'read', readAtMs: T0 + 3, deliveredAtMs: null });
      });

      it('a repeated status changes nothing', async () => {
        const m = await stored();
        await store.transition(m.id, { state: 'sent', wamid: 'wamid.D', atMs: T0 + 1 });
        expect(await store.transition(m.id, { state: 'delivered', atMs: T0 + 2 })).toBe(true);
        expect(await store.transition(m.id, { state: 'delivered', atMs: T0 + 9 })).toBe(false);
        expect((await store.get(m.tenantId, m.id))?.deliveredAtMs).toBe(T0 + 2);
      });

      it('statuses never apply to a message that was not sent', async () => {
        const m = await stored();
        expect(await store.transition(m.id, { state: 'delivered', atMs: T0 + 1 })).toBe(false);
        expect(await store.transition(m.id, { state: 'read', atMs: T0 + 1 })).toBe(false);
        expect((await store.get(m.tenantId, m.id))?.state).toBe('queued');
      });

      it('a sent message never goes back to sending or queued', async () => {
        const m = await stored();
        await store.transition(m.id, { state: 'sent', wamid: 'wamid.S', atMs: T0 + 1 });
        expect(await store.transition(m.id, { state: 'sending', attempts: 9, atMs: T0 + 2 })).toBe(false);
        expect(await store.transition(m.id, { state: 'queued', notBeforeMs: 0, lastError: null, atMs: T0 + 2 })).toBe(false);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'sent', attempts: 0 });
      });

      it("a sent message may still fail (Meta's asynchronous failures), a delivered one may not", async () => {
        const m = await stored();
        await store.transition(m.id, { state: 'sent', wamid: 'wamid.F', atMs: T0 + 1 });
        expect(await store.transition(m.id, { state: 'failed', lastError: upstreamError, atMs: T0 + 2 })).toBe(true);
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'failed', wamid: 'wamid.F', lastError: upstreamError });
        const d = await stored();
        await store.transition(d.id, { state: 'sent', wamid: 'wamid.D', atMs: T0 + 1 });
        await store.transition(d.id, { state: 'delivered', atMs: T0 + 2 });
        expect(await store.transition(d.id, { state: 'failed', lastError: upstreamError, atMs: T0 + 3 })).toBe(false);
      });

      it('ignores unknown ids', async () => {
        expect(await store.transition('no-such-id', { state: 'sending', attempts: 1, atMs: T0 })).toBe(false);
      });

      it('applies transitions issued together in the order they were issued', async () => {
        const m = await stored();
        const results = await Promise.all([
          store.transition(m.id, { state: 'sending', attempts: 1, atMs: T0 + 1 }),
          store.transition(m.id, { state: 'sent', wamid: 'wamid.T', atMs: T0 + 2 }),
          store.transition(m.id, { state: 'read', atMs: T0 + 3 }),
          store.transition(m.id, { state: 'delivered', atMs: T0 + 4 }),
        ]);
        expect(results).toEqual([true, true, true, false]);
        expect((await store.get(m.tenantId, m.id))?.state).toBe('read');
      });
    });

    describe('unfinished', () => {
      it('lists queued and sending messages, oldest first, and nothing final', async () => {
        const late = message({ createdAtMs: T0 + 300 });
        const early = message({ createdAtMs: T0 + 100 });
        const middle = message({ createdAtMs: T0 + 200 });
        const done = message({ createdAtMs: T0 + 50 });
        const failed = message({ createdAtMs: T0 + 60 });
        for (const m of [late, early, middle, done, failed]) await store.enqueue(m);
        await store.transition(middle.id, { state: 'sending', attempts: 1, atMs: T0 + 400 });
        await store.transition(done.id, { state: 'sent', wamid: 'wamid.U', atMs: T0 + 400 });
        await store.transition(failed.id, { state: 'failed', lastError: upstreamError, atMs: T0 + 400 });
        const ids = (await store.unfinished()).map((r) => r.id);
        expect(ids).toEqual([early.id, middle.id, late.id]);
        expect((await store.unfinished())[1]).toMatchObject({ state: 'sending', attempts: 1 });
      });

      it('is empty for an empty store', async () => {
        expect(await store.unfinished()).toEqual([]);
      });
    });

    describe('queue pages', () => {
      const ids = (page: { records: Array<{ id: string }> }) => page.records.map((r) => r.id);

      it("pages a number's messages of one priority in due-time then arrival order, from a cursor, only those due", async () => {
        const a = message({ priority: 1, createdAtMs: T0 + 10 });
        const b = message({ priority: 1, createdAtMs: T0 + 10 });
        const c = message({ priority: 1, createdAtMs: T0 + 5 });
        const urgent = message({ priority: 0, createdAtMs: T0 + 20 });
        const later = message({ priority: 1, createdAtMs: T0 + 1 });
        const other = message({ priority: 1, phoneNumberId: '1002', createdAtMs: T0 });
        const done = message({ priority: 1, createdAtMs: T0 });
        for (const m of [a, b, c, urgent, later, other, done]) await store.enqueue(m);
        await store.transition(done.id, { state: 'sent', wamid: 'wamid.P', atMs: T0 + 30 });
        // A retry due later goes behind every message already due, whenever it arrived.
        await store.transition(later.id, { state: 'queued', notBeforeMs: T0 + 1000, lastError: upstreamError, atMs: T0 + 30 });
        // A message in `sending` is still unfinished: after a crash it is paged and sent again.
        await store.transition(b.id, { state: 'sending', attempts: 1, atMs: T0 + 30 });

        const q = { phoneNumberId: '1001', priority: 1 as const, dueByMs: T0 + 100 };
        const first = await store.queuePage({ ...q, after: null, limit: 2 });
        expect(ids(first)).toEqual([c.id, a.id]);
        expect(first.nextDueMs).toBe(T0 + 1000);
        const second = await store.queuePage({ ...q, after: first.last, limit: 2 });
        expect(ids(second)).toEqual([b.id]);
        expect(second.records[0]).toMatchObject({ state: 'sending', attempts: 1, body: b.body });
        const end = await store.queuePage({ ...q, after: second.last, limit: 2 });
        expect(end).toEqual({ records: [], last: null, nextDueMs: T0 + 1000 });
        // Once due, the retry follows from where the last page ended.
        const due = await store.queuePage({ ...q, after: second.last, dueByMs: T0 + 1000, limit: 10 });
        expect(ids(due)).toEqual([later.id]);
        expect(due.nextDueMs).toBeNull();
        expect(ids(await store.queuePage({ ...q, priority: 0, after: null, limit: 10 }))).toEqual([urgent.id]);
        expect(ids(await store.queuePage({ ...q, phoneNumberId: '1002', after: null, limit: 10 }))).toEqual([other.id]);
      });

      it('counts the unfinished messages of each number, none of the final ones', async () => {
        expect(await store.queueCounts()).toEqual([]);
        const batch = [
          ...Array.from({ length: 3 }, () => message({ phoneNumberId: '2001' })),
          ...Array.from({ length: 2 }, () => message({ phoneNumberId: '2002', priority: 0 })),
        ];
        for (const m of batch) await store.enqueue(m);
        await store.transition(batch[0]!.id, { state: 'sending', attempts: 1, atMs: T0 + 1 });
        await store.transition(batch[1]!.id, { state: 'expired', atMs: T0 + 1 });
        await store.transition(batch[3]!.id, { state: 'sent', wamid: 'wamid.C', atMs: T0 + 1 });
        const counts = (await reopen().then((s) => s.queueCounts())).sort((x, y) => x.phoneNumberId.localeCompare(y.phoneNumberId));
        expect(counts).toEqual([{ phoneNumberId: '2001', count: 2 }, { phoneNumberId: '2002', count: 1 }]);
      });
    });

    describe('findByWamid', () => {
      it('finds a sent message by its wamid, across tenants, and null otherwise', async () => {
        const a = message({ tenantId: 'acme' });
        const b = message({ tenantId: 'globex' });
        await store.enqueue(a);
        await store.enqueue(b);
        await store.transition(a.id, { state: 'sent', wamid: 'wamid.AAA', atMs: T0 + 1 });
        await store.transition(b.id, { state: 'sent', wamid: 'wamid.BBB', atMs: T0 + 1 });
        expect((await store.findByWamid('wamid.AAA'))?.id).toBe(a.id);
        expect((await store.findByWamid('wamid.BBB'))?.tenantId).toBe('globex');
        expect(await store.findByWamid('wamid.none')).toBeNull();
      });
    });

    describe('throttled attempts', () => {
      it('a queued transition keeps the throttled count given, across reopen; one without it leaves it as it was', async () => {
        const m = message();
        await store.enqueue(m);
        expect((await store.get(m.tenantId, m.id))?.throttled).toBeUndefined();
        await store.transition(m.id, { state: 'sending', attempts: 3, atMs: T0 + 1 });
        await store.transition(m.id, { state: 'queued', notBeforeMs: T0 + 50, lastError: upstreamError, atMs: T0 + 2, throttled: 2 });
        await store.transition(m.id, { state: 'sending', attempts: 4, atMs: T0 + 3 });
        await store.transition(m.id, { state: 'queued', notBeforeMs: T0 + 60, lastError: null, atMs: T0 + 4 });
        await reopen();
        expect(await store.get(m.tenantId, m.id)).toMatchObject({ state: 'queued', attempts: 4, throttled: 2 });
        expect((await store.unfinished()).find((r) => r.id === m.id)?.throttled).toBe(2);
      });
    });

    describe('owed endings', () => {
      it('owes a tenant event from the commit of an unsent final state until it is settled, across a reopen', async () => {
        const failed = message({ tenantId: 'acme' });
        const other = message({ tenantId: 'beta' });
        const sent = message({ tenantId: 'acme' });
        for (const m of [failed, other, sent]) await store.enqueue(m);
        await store.transition(failed.id, { state: 'failed', atMs: T0 + 10, lastError: upstreamError });
        await store.transition(other.id, { state: 'expired', atMs: T0 + 10 });
        await store.transition(sent.id, { state: 'sending', attempts: 1, atMs: T0 + 10 });
        await store.transition(sent.id, { state: 'sent', wamid: 'wamid.owed', atMs: T0 + 11 });
        // A refused change (final stays final) owes nothing new.
        expect(await store.transition(failed.id, { state: 'expired', atMs: T0 + 12 })).toBe(false);

        await reopen();
        expect(await store.owedEndings!('acme', T0 + 10, 10)).toEqual([]); // owed since T0+10, not before
        expect(await store.owedEndings!('acme', T0 + 20, 10)).toEqual([failed.id]);
        expect(await store.owedEndings!('beta', T0 + 20, 10)).toEqual([other.id]);
        await store.endingSettled!('acme', failed.id);
        expect(await store.owedEndings!('acme', clock.nowMs() + 1000, 10)).toEqual([]);
      });
    });

    describe('control state', () => {
      it('keeps entries across close and reopen, replaces them by key and deletes them with null', async () => {
        expect(await store.controlEntries()).toEqual([]);
        await store.putControl('number:1001', { paused: { by: 'upstream', code: 131048 }, mps: 40 });
        await store.putControl('tenant:acme', { paused: { by: 'operator' } });
        clock.advance(5);
        await store.putControl('number:1001', { mps: 20 });
        await reopen();
        expect(await store.controlEntries()).toEqual([
          { key: 'number:1001', value: { mps: 20 }, updatedAtMs: T0 + 5 },
          { key: 'tenant:acme', value: { paused: { by: 'operator' } }, updatedAtMs: T0 },
        ]);
        await store.putControl('tenant:acme', null);
        await reopen();
        expect((await store.controlEntries()).map((e) => e.key)).toEqual(['number:1001']);
      });
    });

    describe('durability across close and reopen', () => {
      it('keeps records, states, errors and the unfinished queue', async () => {
        const queued = message();
        const sent = message();
        const retried = message();
        await Promise.all([store.enqueue(queued), store.enqueue(sent), store.enqueue(retried)]);
        await store.transition(sent.id, { state: 'sent', wamid: 'wamid.KEEP', atMs: T0 + 7 });
        await store.transition(retried.id, { state: 'queued', notBeforeMs: T0 + 99, lastError: upstreamError, atMs: T0 + 8 });
        const before = await Promise.all([queued, sent, retried].map((m) => store.get(m.tenantId, m.id)));
        await reopen();
        const after = await Promise.all([queued, sent, retried].map((m) => store.get(m.tenantId, m.id)));
        expect(after).toEqual(before);
        expect((await store.findByWamid('wamid.KEEP'))?.id).toBe(sent.id);
        expect((await store.unfinished()).map((r) => r.id)).toEqual([queued.id, retried.id]);
      });

      it('flushes writes still pending when close() is called', async () => {
        const m = message();
        const pending = store.enqueue(m);
        await store.close();
        expect((await pending).kind).toBe('created');
        store = await harness.open(clock);
        expect((await store.get(m.tenantId, m.id))?.id).toBe(m.id);
      });

      it('is healthy while open, and after close reports unhealthy and refuses calls', async () => {
        expect(store.healthy()).toBe(true);
        await store.close();
        expect(store.healthy()).toBe(false);
        await expect(store.enqueue(message())).rejects.toThrow();
        await expect(store.transition('x', { state: 'sending', attempts: 1, atMs: T0 })).rejects.toThrow();
        await expect(store.get('acme', 'x')).rejects.toThrow();
        await store.close(); // idempotent: afterEach closes again
      });
    });
  });
}
