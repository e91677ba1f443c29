/**
 * The BroadcastStore contract (src/broadcasts/store.ts), run against every backend: SQLite
 * (store.test.ts) and Redis, one server and a 3-master Cluster (redis-store.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { batchesOf, emptyCounts, type BroadcastStore } from '../../src/broadcasts/store.js';
import type { BroadcastRecord, StoredRecipient } from '../../src/broadcasts/types.js';

export interface StoreFactory {
  open(): Promise<BroadcastStore>;
}

export const record = (id: string, total: number, key: string | null = null, tenantId = 'acme'): BroadcastRecord => ({
  id, tenantId, phoneNumberId: '1001', idempotencyKey: key, bodyHash: key === null ? null : 'h', message: '{}', category: 'marketing',
  state: 'running', plan: { recipients: total } as BroadcastRecord['plan'], total, cursor: 0, counts: { ...emptyCounts(), pending: total },
  waitingForLimit: false, createdAtMs: 1, notBeforeMs: 1, deadlineAtMs: 10_000_000, endedAtMs: null,
});

export function* recipients(n: number): Generator<StoredRecipient> {
  for (let i = 0; i < n; i++) yield { idx: i, to: `1415555${String(i).padStart(4, '0')}`, toInput: `+1415555${String(i).padStart(4, '0')}`, components: i % 2 === 0 ? null : '[{"type":"body"}]' };
}

/** Time-ordered ids as the service makes them (bc_ + 26 characters). */
const id = (n: number): string => `bc_${String(n).padStart(26, '0')}`;

export function describeBroadcastStoreConformance(name: string, factory: () => StoreFactory): void {
  describe(`BroadcastStore conformance: ${name}`, () => {
    /** A test on a store of its own, closed after it. */
    const using = (run: (store: BroadcastStore) => Promise<void>) => async () => {
      const store = await factory().open();
      try {
        await run(store);
      } finally {
        await store.close();
      }
    };

    it('stores a large broadcast, found only once complete; a repeat key finds the first', using(async (store) => {
      const creating = store.create(record(id(1), 45_000, 'k1'), recipients(45_000));
      // Between its writes it is `creating`: not active, not listed, its key held.
      await new Promise((r) => setImmediate(r));
      expect(await store.active()).toEqual([]);
      expect((await store.list({ limit: 10 })).records).toEqual([]);
      expect((await store.byKey('acme', 'k1'))?.state).toBe('creating');
      await creating;
      expect((await store.active()).map((b) => b.id)).toEqual([id(1)]);
      const last = await store.page('acme', id(1), 44_998, 10);
      expect(last).toEqual([...recipients(45_000)].slice(44_998));
      const again = await store.create(record(id(2), 1, 'k1'), recipients(1));
      expect(again.id).toBe(id(1));
      expect(await store.get('acme', id(2))).toBeNull();
      // Another tenant's key and record are its own.
      expect(await store.byKey('other', 'k1')).toBeNull();
      expect(await store.get('other', id(1))).toBeNull();
    }));

    it('a create that fails half-way leaves nothing', using(async (store) => {
      function* failing(): Generator<StoredRecipient> {
        yield* recipients(30_000);
        throw new Error('bad row');
      }
      await expect(store.create(record(id(3), 40_000, 'k3'), failing())).rejects.toThrow('bad row');
      expect(await store.get('acme', id(3))).toBeNull();
      expect(await store.byKey('acme', 'k3')).toBeNull();
      expect(await store.page('acme', id(3), 0, 10)).toEqual([]);
      expect(await store.active()).toEqual([]);
    }));

    it('moves each recipient once however often a chunk or an end is committed, and the cursor only forward', using(async (store) => {
      const r = await store.create(record(id(4), 4), recipients(4));
      const chunk = { tenantId: 'acme', broadcastId: id(4), cursor: 3, queued: [{ idx: 0, messageId: 'sg_0' }, { idx: 1, messageId: 'sg_1' }], rejected: [2] };
      expect(await store.commitChunk(chunk, r.counts, true)).toBe(true);
      expect(r.counts).toMatchObject({ pending: 1, queued: 2, rejected: 1 });
      // The same chunk again (a re-admission after a crash, or a former owner): nothing moves; an older cursor does not win.
      expect(await store.commitChunk({ ...chunk, cursor: 1 }, r.counts, false)).toBe(true);
      expect(r.counts).toMatchObject({ pending: 1, queued: 2, rejected: 1 });
      const stored = (await store.get('acme', id(4)))!;
      expect(stored.cursor).toBe(3);
      expect(stored.counts).toEqual(r.counts);
      expect(await store.queuedOf('acme', id(4), -1, 10)).toEqual([
        { idx: 0, messageId: 'sg_0', to: '14155550000' }, { idx: 1, messageId: 'sg_1', to: '14155550001' },
      ]);
      expect(await store.queuedOf('acme', id(4), 0, 10)).toEqual([{ idx: 1, messageId: 'sg_1', to: '14155550001' }]);

      const counts = (bid: string) => (bid === id(4) ? r.counts : undefined);
      const touched = await store.endMessages([
        { tenantId: 'acme', messageId: 'sg_0', status: 'sent' }, { tenantId: 'acme', messageId: 'sg_0', status: 'sent' },
        { tenantId: 'acme', messageId: 'sg_other', status: 'sent' },
      ], counts);
      expect([...touched]).toEqual([id(4)]);
      expect(r.counts).toMatchObject({ queued: 1, sent: 1 });
      expect(await store.queuedOf('acme', id(4), -1, 10)).toEqual([{ idx: 1, messageId: 'sg_1', to: '14155550001' }]);
      // Counts move in the store even where no process holds them in memory.
      await store.endMessages([{ tenantId: 'acme', messageId: 'sg_1', status: 'failed' }], () => undefined);
      expect((await store.get('acme', id(4)))!.counts).toMatchObject({ queued: 0, sent: 1, failed: 1 });
    }));

    it('one batch of ends moves the counts of every broadcast it names, of any tenant, each once', using(async (store) => {
      const a = await store.create(record(id(11), 2), recipients(2));
      const b = await store.create(record(id(12), 2), recipients(2));
      const c = await store.create(record(id(13), 2, null, 'other'), recipients(2));
      for (const [r, prefix] of [[a, 'a'], [b, 'b'], [c, 'c']] as const) {
        await store.commitChunk({ tenantId: r.tenantId, broadcastId: r.id, cursor: 2, queued: [{ idx: 0, messageId: `${prefix}0` }, { idx: 1, messageId: `${prefix}1` }], rejected: [] }, r.counts, false);
      }
      const touched = await store.endMessages([
        { tenantId: 'acme', messageId: 'a0', status: 'sent' }, { tenantId: 'acme', messageId: 'b1', status: 'failed' },
        { tenantId: 'other', messageId: 'c0', status: 'expired' }, { tenantId: 'acme', messageId: 'a0', status: 'sent' },
      ], () => undefined);
      expect([...touched].sort()).toEqual([id(11), id(12), id(13)]);
      expect((await store.get('acme', id(11)))!.counts).toMatchObject({ queued: 1, sent: 1, failed: 0 });
      expect((await store.get('acme', id(12)))!.counts).toMatchObject({ queued: 1, sent: 0, failed: 1 });
      expect((await store.get('other', id(13)))!.counts).toMatchObject({ queued: 1, sent: 0, expired: 1 });
      expect(await store.queuedOf('other', id(13), -1, 10)).toEqual([{ idx: 1, messageId: 'c1', to: '14155550001' }]);
    }));

    it('a chunk committed after the deadline expired its pending recipients moves nothing (a former owner\'s, late)', using(async (store) => {
      const r = await store.create(record(id(14), 4), recipients(4));
      await store.commitChunk({ tenantId: 'acme', broadcastId: id(14), cursor: 1, queued: [{ idx: 0, messageId: 'x0' }], rejected: [] }, r.counts, false);
      await store.expirePending('acme', id(14), 4, r.counts);
      const expired = { ...emptyCounts(), queued: 1, expired: 3 };
      expect(r.counts).toEqual(expired);
      const late = { ...r.counts };
      await store.commitChunk({ tenantId: 'acme', broadcastId: id(14), cursor: 3, queued: [{ idx: 1, messageId: 'x1' }], rejected: [2] }, late, false);
      expect((await store.get('acme', id(14)))!.counts).toEqual(expired);
      expect(await store.queuedOf('acme', id(14), -1, 10)).toEqual([{ idx: 0, messageId: 'x0', to: '14155550000' }]);
    }));

    it('ends a broadcast once: its pending recipients end as told; then no chunk commits and a refused message counts cancelled', using(async (store) => {
      const r = await store.create(record(id(5), 5), recipients(5));
      await store.commitChunk({ tenantId: 'acme', broadcastId: id(5), cursor: 2, queued: [{ idx: 0, messageId: 'm0' }, { idx: 1, messageId: 'm1' }], rejected: [] }, r.counts, false);
      expect(await store.stateOf('acme', id(5))).toBe('running');
      expect(await store.end('acme', id(5), 'cancelled', 777, r.counts, 'cancelled')).toBe(true);
      expect(r.counts).toMatchObject({ pending: 0, queued: 2, cancelled: 3 });
      expect(await store.stateOf('acme', id(5))).toBe('cancelled');
      // A second end (another process's cancel, or the run completing) changes nothing and answers the stored counts.
      const other = emptyCounts();
      expect(await store.end('acme', id(5), 'completed', 999, other, null)).toBe(false);
      expect(other).toEqual(r.counts);
      expect(await store.commitChunk({ tenantId: 'acme', broadcastId: id(5), cursor: 3, queued: [{ idx: 2, messageId: 'm2' }], rejected: [] }, r.counts, false)).toBe(false);
      // Still draining: messages queued before the deadline.
      expect((await store.draining(1000)).map((b) => b.id)).toEqual([id(5)]);
      expect(await store.draining(10_000_001)).toEqual([]);
      expect(await store.active()).toEqual([]);
      await store.endMessages([{ tenantId: 'acme', messageId: 'm0', status: 'rejected' }, { tenantId: 'acme', messageId: 'm1', status: 'sent' }], () => undefined);
      const ended = (await store.get('acme', id(5)))!;
      expect(ended).toMatchObject({ state: 'cancelled', endedAtMs: 777, counts: { pending: 0, queued: 0, sent: 1, cancelled: 4, rejected: 0 } });
      expect(await store.draining(1000)).toEqual([]);
    }));

    it('starts a scheduled run, expires what was never admitted, and purges ended broadcasts after their retention', using(async (store) => {
      const r = await store.create({ ...record(id(6), 3), state: 'scheduled' }, recipients(3));
      await store.startRun('acme', id(6));
      expect(await store.stateOf('acme', id(6))).toBe('running');
      await store.commitChunk({ tenantId: 'acme', broadcastId: id(6), cursor: 1, queued: [{ idx: 0, messageId: 'e0' }], rejected: [] }, r.counts, false);
      await store.expirePending('acme', id(6), 3, r.counts);
      expect(r.counts).toMatchObject({ pending: 0, queued: 1, expired: 2 });
      expect((await store.get('acme', id(6)))!.cursor).toBe(3);
      await store.endMessages([{ tenantId: 'acme', messageId: 'e0', status: 'sent' }], (b) => (b === id(6) ? r.counts : undefined));
      expect(await store.end('acme', id(6), 'completed', 1000, r.counts, null)).toBe(true);
      expect(await store.purgeEnded(500)).toBe(0);
      expect(await store.purgeEnded(2000)).toBe(1);
      expect(await store.purgeEnded(2000)).toBe(0);
      expect(await store.get('acme', id(6))).toBeNull();
      expect(await store.page('acme', id(6), 0, 10)).toEqual([]);
      expect((await store.list({ limit: 10 })).records).toEqual([]);
    }));

    it('lists newest first, by state and tenant, a page at a time', using(async (store) => {
      for (let n = 10; n < 15; n++) await store.create(record(id(n), 1, null, n % 2 === 0 ? 'acme' : 'beta'), recipients(1));
      await store.end('beta', id(11), 'cancelled', 5, emptyCounts(), 'cancelled');
      const first = await store.list({ limit: 2 });
      expect(first.records.map((b) => b.id)).toEqual([id(14), id(13)]);
      expect(first.next).toBe(id(13));
      const second = await store.list({ limit: 2, before: first.next! });
      expect(second.records.map((b) => b.id)).toEqual([id(12), id(11)]);
      const last = await store.list({ limit: 2, before: second.next! });
      expect(last).toEqual({ records: [expect.objectContaining({ id: id(10) })], next: null });
      expect((await store.list({ limit: 10, tenantId: 'beta' })).records.map((b) => b.id)).toEqual([id(13), id(11)]);
      expect((await store.list({ limit: 10, state: 'cancelled' })).records.map((b) => b.id)).toEqual([id(11)]);
    }));

    it('keeps uploads in order, found only once finished and only by their tenant', using(async (store) => {
      const rows = Array.from({ length: 12_001 }, (_, i) => ({ toInput: `+1 555 ${i}`, components: i === 7 ? '[{"type":"body"}]' : null }));
      await store.appendUpload('acme', 'up_1', 0, rows.slice(0, 6000));
      await store.appendUpload('acme', 'up_1', 6000, rows.slice(6000));
      expect(await store.upload('acme', 'up_1')).toBeNull();
      await store.finishUpload('up_1', 'acme', rows.length, 1);
      expect(await store.upload('acme', 'up_1')).toEqual({ id: 'up_1', count: 12_001 });
      expect(await store.upload('beta', 'up_1')).toBeNull();
      const read: Array<{ toInput: string; components: string | null }> = [];
      for await (const batch of batchesOf(store.uploadRows('acme', 'up_1'), 1000)) read.push(...batch);
      expect(read).toEqual(rows);
      await store.dropUpload('acme', 'up_1');
      expect(await store.upload('acme', 'up_1')).toBeNull();
    }));
  });
}
