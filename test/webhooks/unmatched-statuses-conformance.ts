/**
 * The behaviour every durable UnmatchedStatuses must have (embedded SQLite, Redis, Redis Cluster):
 * bounded by a cap (oldest dropped) and, in the consumer, by age; opened again on the same storage
 * it still holds them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { MetaEventConsumer } from '../../src/webhooks/meta/consumer.js';
import type { StatusEvent, StatusValue } from '../../src/webhooks/meta/events.js';
import type { UnmatchedStatuses } from '../../src/webhooks/meta/unmatched-statuses.js';

export interface UnmatchedHarness {
  /** Parked statuses on this harness's storage, capped at `maxParked`; opening again is a restart. */
  open(maxParked: number): Promise<UnmatchedStatuses>;
  cleanup(): Promise<void>;
}

const status = (wamid: string, value: StatusValue = 'delivered'): StatusEvent =>
  ({ kind: 'status', phoneNumberId: '1001', wamid, status: value, recipient: '15550001', timestampMs: 1_700_000_000_123 });

export function describeUnmatchedConformance(name: string, storage: () => Promise<UnmatchedHarness>): void {
  describe(`UnmatchedStatuses conformance: ${name}`, () => {
    const harnesses: UnmatchedHarness[] = [];
    afterEach(async () => {
      for (const h of harnesses.splice(0)) await h.cleanup();
    });
    const fresh = async () => {
      const h = await storage();
      harnesses.push(h);
      return h;
    };

    it('keeps at most the cap, dropping the oldest; a redelivered copy parks nothing new; survives reopening', async () => {
      const h = await fresh();
      const parked = await h.open(3);
      expect(await parked.park([status('w1'), status('w2')], 1000, 1500)).toBe(0);
      expect(await parked.park([status('w2'), status('w3')], 2000, 2500)).toBe(0);
      expect(await parked.park([status('w4')], 3000, 3500)).toBe(1);
      expect((await parked.due(10_000, 10)).map((p) => p.event.wamid)).toEqual(['w2', 'w3', 'w4']);
      expect(parked.size()).toBe(3);
      const again = await h.open(3);
      expect(again.size()).toBe(3);
      expect(await again.nextTryAtMs()).toBe(1500);
    });

    it('finds one wamid\'s statuses, reschedules, rewinds and removes', async () => {
      const h = await fresh();
      const parked = await h.open(10);
      expect(await parked.ofWamid('w1')).toEqual([]);
      expect(await parked.nextTryAtMs()).toBeUndefined();
      await parked.park([status('w1', 'sent'), status('w10'), status('w1', 'read')], 1000, 1500);
      const ofW1 = await parked.ofWamid('w1');
      expect(ofW1.map((p) => p.key).sort()).toEqual(['w1:read', 'w1:sent']);
      expect(ofW1[0]).toMatchObject({ receivedAtMs: 1000, tries: 0, nextTryAtMs: 1500 });
      expect(ofW1.find((p) => p.key === 'w1:read')!.event).toEqual(status('w1', 'read'));

      await parked.retryLater('w1:sent', 2, 9000);
      await parked.retryLater('gone:read', 1, 1);
      expect((await parked.due(1500, 10)).map((p) => p.key).sort()).toEqual(['w10:delivered', 'w1:read']);
      expect((await parked.due(1500, 1)).length).toBe(1);
      expect((await parked.due(9000, 10)).find((p) => p.key === 'w1:sent')).toMatchObject({ tries: 2, nextTryAtMs: 9000, receivedAtMs: 1000 });

      await parked.rewind(700);
      expect(await parked.nextTryAtMs()).toBe(700);
      expect((await parked.due(700, 10)).every((p) => p.tries === 0)).toBe(true);

      await parked.remove('w1:sent');
      await parked.remove('w1:sent');
      expect(parked.size()).toBe(2);
      expect((await parked.ofWamid('w1')).map((p) => p.key)).toEqual(['w1:read']);
    });

    it('the consumer drops a parked status older than maxParkedAgeMs at its first look-up after a restart', async () => {
      const h = await fresh();
      const clock = new ManualClock(1_000_000);
      await (await h.open(10)).park([status('w-old')], clock.nowMs(), clock.nowMs() + 500);
      clock.advance(2 * 3_600_000);
      const consumer = new MetaEventConsumer({
        records: { findByWamid: async () => null, transition: async () => false },
        owners: { number: () => undefined },
        sink: { enqueue: async () => null },
        clock,
        unmatched: await h.open(10),
        maxParkedAgeMs: 3_600_000,
      });
      while (consumer.stats().parked > 0) await new Promise((r) => setTimeout(r, 5));
      expect(consumer.stats()).toMatchObject({ unmatched: 1, lateMatched: 0 });
      consumer.close();
    });
  });
}
