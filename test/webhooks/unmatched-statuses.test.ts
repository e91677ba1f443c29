/**
 * The durable home of statuses waiting for their wamid: bounded by a cap (oldest dropped) and, in
 * the consumer, by age; reopened on the same file it still holds them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import type { StatusEvent } from '../../src/webhooks/meta/events.js';
import { MetaEventConsumer } from '../../src/webhooks/meta/consumer.js';
import { SqliteUnmatchedStatuses } from '../../src/webhooks/meta/unmatched-statuses.js';

const dir = mkdtempSync(join(tmpdir(), 'sendgate-unmatched-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const status = (wamid: string): StatusEvent =>
  ({ kind: 'status', phoneNumberId: '1001', wamid, status: 'delivered', recipient: '15550001', timestampMs: 1 });

describe('unmatched statuses', () => {
  it('keeps at most the cap, dropping the oldest; a redelivered copy parks nothing new; survives reopening', () => {
    const db = openWebhooksDb(join(dir, 'cap'));
    const parked = new SqliteUnmatchedStatuses(db, 3);
    expect(parked.park([status('w1'), status('w2')], 1000, 1500)).toBe(0);
    expect(parked.park([status('w2'), status('w3')], 2000, 2500)).toBe(0);
    expect(parked.park([status('w4')], 3000, 3500)).toBe(1);
    expect(parked.due(10_000, 10).map((p) => p.event.wamid)).toEqual(['w2', 'w3', 'w4']);
    db.close();
    const again = new SqliteUnmatchedStatuses(openWebhooksDb(join(dir, 'cap')), 3);
    expect(again.size()).toBe(3);
    expect(again.nextTryAtMs()).toBe(1500);
  });

  it('the consumer drops a parked status older than maxParkedAgeMs at its first look-up after a restart', async () => {
    const clock = new ManualClock(1_000_000);
    const db = openWebhooksDb(join(dir, 'age'));
    new SqliteUnmatchedStatuses(db, 10).park([status('w-old')], clock.nowMs(), clock.nowMs() + 500);
    clock.advance(2 * 3_600_000);
    const consumer = new MetaEventConsumer({
      records: { findByWamid: async () => null, transition: async () => false },
      owners: { number: () => undefined },
      sink: { enqueue: async () => null },
      clock,
      unmatched: new SqliteUnmatchedStatuses(db, 10),
      maxParkedAgeMs: 3_600_000,
    });
    while (consumer.stats().parked > 0) await new Promise((r) => setTimeout(r, 5));
    expect(consumer.stats()).toMatchObject({ unmatched: 1, lateMatched: 0 });
    consumer.close();
    db.close();
  });
});
