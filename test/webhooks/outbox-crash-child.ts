/**
 * Child process of outbox-crash.test.ts: appends to the outbox without pause, settles every third
 * entry as delivered, and prints each acknowledgement only after its promise resolved, until the
 * parent kills it with SIGKILL.
 *
 *   node outbox-crash-child.js <storageDir> <prefix>
 *
 * stdout lines: `A <eventId> <seq>` append committed; `R <seq>` settle requested; `D <seq>` delivered
 * settle committed (a requested settle may have committed without its `D` line: killed in between).
 */
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteOutbox } from '../../src/webhooks/outbox/sqlite.js';

const [dir, prefix] = process.argv.slice(2);
if (dir === undefined || prefix === undefined) throw new Error('usage: outbox-crash-child <storageDir> <prefix>');

const outbox = new SqliteOutbox(openWebhooksDb(dir), { settleFlushMs: 5 });
let n = 0;

async function worker(): Promise<never> {
  for (;;) {
    n++;
    const eventId = `${prefix}-${n}`;
    const entry = (await outbox.append({ eventId, tenantId: 'crash', orderKey: `r${n % 7}`, body: JSON.stringify({ eventId, pad: 'x'.repeat(200) }), createdAtMs: Date.now() }))!;
    process.stdout.write(`A ${eventId} ${entry.seq}\n`);
    if (entry.seq % 3 === 0) {
      process.stdout.write(`R ${entry.seq}\n`);
      await outbox.settle(entry.tenantId, entry.seq, { kind: 'delivered' });
      process.stdout.write(`D ${entry.seq}\n`);
    }
  }
}

for (let i = 0; i < 32; i++) void worker();
