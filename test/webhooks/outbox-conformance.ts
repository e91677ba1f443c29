/**
 * The behaviour every Outbox implementation must have (embedded SQLite, Redis, Redis Cluster).
 * Call `describeOutboxConformance` from an implementation's test file with a factory that gives a
 * fresh, empty outbox and can reopen the same storage (a restart).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { NewOutboxEntry, Outbox } from '../../src/webhooks/outbox/types.js';

export interface OutboxHarness {
  outbox: Outbox;
  /** Closes this outbox and opens the same storage again. */
  reopen(): Promise<Outbox>;
  cleanup(): Promise<void>;
}

export const entry = (i: number, tenantId = 't1'): NewOutboxEntry => ({
  eventId: `e${i}`, tenantId, orderKey: `k${i % 2}`, body: `{"n":${i},"s":"olá"}`, createdAtMs: 1000 + i,
});

export function describeOutboxConformance(name: string, open: () => Promise<OutboxHarness>): void {
  describe(`Outbox conformance: ${name}`, () => {
    const harnesses: OutboxHarness[] = [];
    const fresh = async () => {
      const h = await open();
      harnesses.push(h);
      return h;
    };
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.cleanup();
    });

    it('hands out increasing seq in call order, also for concurrent appends', async () => {
      const { outbox } = await fresh();
      const appended = await Promise.all([0, 1, 2, 3, 4].map((i) => outbox.append(entry(i))));
      const seqs = appended.map((e) => e!.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(new Set(seqs).size).toBe(5);
      expect(appended[0]).toMatchObject({ ...entry(0), attempts: 0, nextAttemptAtMs: 1000 });
    });

    it('stores an event id once: a second append of it, pending or dead, stores nothing', async () => {
      const { outbox } = await fresh();
      const first = (await outbox.append(entry(0)))!;
      const [again, other] = await Promise.all([outbox.append({ ...entry(0), body: '{"changed":true}' }), outbox.append(entry(1))]);
      expect(again).toBeNull();
      expect(other).not.toBeNull();
      await outbox.settle('t1', first!.seq, { kind: 'dead', attempts: 3, lastError: 'HTTP 500' });
      expect(await outbox.append(entry(0))).toBeNull();
      await outbox.requeueDead('t1', 5000);
      expect((await outbox.pending('t1', 0, 10)).map((e) => [e.eventId, e.body])).toEqual([['e1', entry(1).body], ['e0', entry(0).body]]);
    });

    it('keeps each entry\'s format through pages, key top-ups, requeues and a reopen (absent: sendgate\'s)', async () => {
      const h = await fresh();
      const meta = { ...entry(1), format: 'meta' as const, body: '{"object":"whatsapp_business_account","entry":[]}' };
      await h.outbox.append(entry(0));
      const appended = await h.outbox.append(meta);
      expect(appended).toMatchObject(meta);
      const formats = (entries: Array<{ eventId: string; format?: string }>) => entries.map((e) => [e.eventId, e.format ?? 'sendgate']);
      expect(formats(await h.outbox.pending('t1', 0, 10))).toEqual([['e0', 'sendgate'], ['e1', 'meta']]);
      expect(formats(await h.outbox.pendingOfKey('t1', 'k1', 0, 100, 10))).toEqual([['e1', 'meta']]);
      await h.outbox.settle('t1', appended!.seq, { kind: 'dead', attempts: 1, lastError: 'HTTP 500' });
      expect(formats(await h.outbox.requeueDead('t1', 5000))).toEqual([['e1', 'meta']]);
      const reopened = await h.reopen();
      expect(formats(await reopened.pending('t1', 0, 10))).toEqual([['e0', 'sendgate'], ['e1', 'meta']]);
    });

    it('pages pending entries of one tenant in seq order', async () => {
      const { outbox } = await fresh();
      for (let i = 0; i < 5; i++) await outbox.append(entry(i, i === 2 ? 't2' : 't1'));
      const page1 = await outbox.pending('t1', 0, 2);
      expect(page1.map((e) => e.eventId)).toEqual(['e0', 'e1']);
      expect(page1[0]).toMatchObject({ ...entry(0), attempts: 0, nextAttemptAtMs: 1000 });
      expect((await outbox.pending('t1', page1[1]!.seq, 10)).map((e) => e.eventId)).toEqual(['e3', 'e4']);
      expect((await outbox.pending('t2', 0, 10)).map((e) => e.eventId)).toEqual(['e2']);
      expect(await outbox.pending('nobody', 0, 10)).toEqual([]);
      const summary = await outbox.summary();
      expect([...summary.tenants].sort()).toEqual(['t1', 't2']);
      expect(summary.pending).toBe(5);
    });

    it('settles: delivered and dead leave the pending set, retry updates attempts and due time', async () => {
      const { outbox } = await fresh();
      const [a, b, c] = await Promise.all([0, 1, 2].map((i) => outbox.append(entry(i))));
      await Promise.all([
        outbox.settle('t1', a!.seq, { kind: 'delivered' }),
        outbox.settle('t1', b!.seq, { kind: 'retry', attempts: 2, nextAttemptAtMs: 9999, lastError: 'HTTP 500' }),
        outbox.settle('t1', c!.seq, { kind: 'dead', attempts: 7, lastError: 'network: ECONNREFUSED' }),
      ]);
      expect((await outbox.pending('t1', 0, 10)).map((e) => [e.eventId, e.attempts, e.nextAttemptAtMs])).toEqual([['e1', 2, 9999]]);
      expect((await outbox.summary()).pending).toBe(1);
    });

    it('requeues a tenant\'s dead entries behind everything queued, with fresh attempts', async () => {
      const { outbox } = await fresh();
      const [a, b] = await Promise.all([0, 1].map((i) => outbox.append(entry(i))));
      const other = (await outbox.append(entry(5, 't2')))!;
      await outbox.settle('t1', a!.seq, { kind: 'dead', attempts: 9, lastError: 'HTTP 500' });
      await outbox.settle('t2', other.seq, { kind: 'dead', attempts: 9, lastError: 'HTTP 500' });
      const c = (await outbox.append(entry(2)))!;
      const requeued = await outbox.requeueDead('t1', 7777);
      expect(requeued.map((e) => [e.eventId, e.attempts, e.nextAttemptAtMs, e.body])).toEqual([['e0', 0, 7777, entry(0).body]]);
      expect(requeued[0]!.seq).toBeGreaterThan(c.seq);
      expect((await outbox.pending('t1', 0, 10)).map((e) => e.eventId)).toEqual(['e1', 'e2', 'e0']);
      expect(await outbox.requeueDead('t1', 7777)).toEqual([]);
      expect(await outbox.pending('t2', 0, 10)).toEqual([]);
      expect(b!.seq).toBeLessThan(c.seq);
    });

    it('lists a tenant\'s dead entries with their last error, a page at a time, until they are replayed', async () => {
      const { outbox } = await fresh();
      const [a, b, c] = await Promise.all([0, 1, 2].map((i) => outbox.append(entry(i))));
      const other = (await outbox.append(entry(5, 't2')))!;
      await outbox.settle('t1', a!.seq, { kind: 'dead', attempts: 9, lastError: 'HTTP 500' });
      await outbox.settle('t1', c!.seq, { kind: 'dead', attempts: 8, lastError: 'network: ECONNREFUSED' });
      await outbox.settle('t2', other.seq, { kind: 'dead', attempts: 9, lastError: 'HTTP 410' });
      const first = await outbox.dead('t1', 0, 1);
      expect(first).toEqual([{ ...entry(0), seq: a!.seq, attempts: 9, nextAttemptAtMs: 1000, lastError: 'HTTP 500' }]);
      const rest = await outbox.dead('t1', first[0]!.seq, 10);
      expect(rest.map((e) => [e.eventId, e.attempts, e.lastError])).toEqual([['e2', 8, 'network: ECONNREFUSED']]);
      expect((await outbox.dead('t2', 0, 10)).map((e) => e.eventId)).toEqual(['e5']);
      expect(b!.seq).toBeLessThan(c!.seq);
      await outbox.requeueDead('t1', 7777);
      expect(await outbox.dead('t1', 0, 10)).toEqual([]);
      expect(await outbox.dead('nobody', 0, 10)).toEqual([]);
    });

    it('settles only pending entries: a late settle of a requeued entry\'s old seq changes nothing', async () => {
      const { outbox } = await fresh();
      const a = (await outbox.append(entry(0)))!;
      await outbox.settle('t1', a.seq, { kind: 'dead', attempts: 3, lastError: 'HTTP 500' });
      const [again] = await outbox.requeueDead('t1', 6000);
      await outbox.settle('t1', a.seq, { kind: 'delivered' });
      await outbox.settle('t1', a.seq, { kind: 'retry', attempts: 5, nextAttemptAtMs: 1, lastError: 'x' });
      expect(await outbox.pending('t1', 0, 10)).toEqual([{ ...entry(0), seq: again!.seq, attempts: 0, nextAttemptAtMs: 6000 }]);
      await outbox.settle('t1', again!.seq, { kind: 'delivered' });
      expect(await outbox.summary()).toEqual({ tenants: [], pending: 0 });
    });

    it('reads back one order key\'s pending entries in a seq range', async () => {
      const { outbox } = await fresh();
      const all = [];
      for (let i = 0; i < 7; i++) all.push((await outbox.append(entry(i)))!);
      await outbox.settle('t1', all[2]!.seq, { kind: 'delivered' });
      const k0 = await outbox.pendingOfKey('t1', 'k0', all[0]!.seq, all[5]!.seq, 10);
      expect(k0.map((e) => e.eventId)).toEqual(['e4']);
      expect((await outbox.pendingOfKey('t1', 'k1', 0, all[6]!.seq, 2)).map((e) => e.eventId)).toEqual(['e1', 'e3']);
      expect(await outbox.pendingOfKey('t1', 'none', 0, all[6]!.seq, 10)).toEqual([]);
    });

    it('keeps pending entries, attempts and seq order across a reopen; rejects writes once closed', async () => {
      const h = await fresh();
      const first = (await h.outbox.append(entry(0)))!;
      await h.outbox.append(entry(1));
      await h.outbox.settle('t1', first.seq, { kind: 'retry', attempts: 1, nextAttemptAtMs: 5000, lastError: 'HTTP 502' });
      const old = h.outbox;
      const reopened = await h.reopen();
      await expect(old.append(entry(8))).rejects.toThrow();
      const later = (await reopened.append(entry(2)))!;
      const pending = await reopened.pending('t1', 0, 10);
      expect(pending.map((e) => [e.eventId, e.attempts, e.body])).toEqual([['e0', 1, entry(0).body], ['e1', 0, entry(1).body], ['e2', 0, entry(2).body]]);
      expect(later.seq).toBeGreaterThan(pending[1]!.seq);
    });
  });
}
