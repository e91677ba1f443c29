/**
 * One recipient's events fail forever at the tenant's endpoint (its handler keeps answering 500
 * for them) while it has a backlog larger than the lane's window: other recipients' events of the
 * same tenant are still delivered, in order, while the stuck one keeps failing; and the stuck
 * recipient's backlog is still delivered in order once its endpoint accepts it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteOutbox } from '../../src/webhooks/outbox/sqlite.js';
import { TenantWebhookSender } from '../../src/webhooks/tenant/sender.js';
import { TenantReceiver } from '../support/tenant-receiver.js';

const SECRET = 'fairness-secret';
const WINDOW = 40;
const PAGE = 10;
const dir = mkdtempSync(join(tmpdir(), 'sendgate-wh-fair-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 10));
}

describe('tenant webhook lane fairness', () => {
  it('a recipient that fails forever never stalls the others', async () => {
    const receiver = new TenantReceiver(SECRET, () => Math.floor(Date.now() / 1000));
    receiver.failFor = (event) => event.recipient === 'stuck';
    await receiver.start();
    const db = openWebhooksDb(dir);
    const outbox = new SqliteOutbox(db);
    const sender = new TenantWebhookSender({
      outbox,
      endpoint: () => ({ url: receiver.url, secret: SECRET }),
      windowPerEndpoint: WINDOW,
      pageSize: PAGE,
      // Many quick retries: the stuck events stay pending (never dead) for the whole test.
      retryScheduleMs: Array.from({ length: 10_000 }, () => 5),
      jitter: 0,
      // A breaker that never opens: the other recipients' successes are what this test is about.
      breaker: { failureThreshold: 1_000_000 },
    });
    await sender.start();
    try {
      // The stuck recipient's backlog alone is more than the window.
      for (let i = 0; i < WINDOW * 3; i++) await sender.enqueue('acme', { recipient: 'stuck', n: i });
      for (let i = 0; i < 5; i++) {
        for (const who of ['alice', 'bob', 'carol']) await sender.enqueue('acme', { recipient: who, n: i });
      }
      const others = () => receiver.delivered().filter((a) => a.event.recipient !== 'stuck');
      const stuckFailures = () => receiver.attempts.filter((a) => a.event.recipient === 'stuck' && a.answered === 500).length;
      await until(() => others().length === 15 && stuckFailures() > 0);
      // The others all went while the stuck recipient's head kept failing.
      expect(receiver.delivered().filter((a) => a.event.recipient === 'stuck')).toEqual([]);
      for (const who of ['alice', 'bob', 'carol']) {
        expect(others().filter((a) => a.event.recipient === who).map((a) => a.event.n)).toEqual([0, 1, 2, 3, 4]);
      }
      expect(sender.stats().loaded).toBeLessThanOrEqual(WINDOW);

      // The endpoint accepts the stuck recipient again: its whole backlog goes, in order, once each.
      receiver.failFor = undefined;
      const stuck = () => receiver.delivered().filter((a) => a.event.recipient === 'stuck').map((a) => a.event.n);
      await until(() => stuck().length === WINDOW * 3);
      expect(stuck()).toEqual(Array.from({ length: WINDOW * 3 }, (_, i) => i));
      // The receiver records an attempt before it answers: the sender counts the last one a moment later.
      await until(() => sender.stats().pending === 0);
      expect(sender.stats()).toMatchObject({ pending: 0, loaded: 0, dead: 0 });
    } finally {
      await sender.close();
      await outbox.close();
      db.close();
      await receiver.stop();
    }
  }, 60_000);
});
