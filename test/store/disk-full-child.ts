/**
 * Child of disk-full.test.ts: the embedded store on a disk that fills up while its purge and probe
 * timers run, then the purge frees room, then the disk frees space. SQLite's max_page_count makes every write that would grow the file
 * fail with SQLITE_FULL, the error a full disk gives. Prints one JSON line per phase; a throw out
 * of a timer kills the process.
 */
import type Database from 'better-sqlite3';
import type { Clock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { NewMessage } from '../../src/store/types.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let offsetMs = 0;
const clock: Clock = { nowMs: () => Date.now() + offsetMs };
// Timers every 10 ms: the purge and the probe run dozens of times against the full file.
const store = new EmbeddedStore({ path: process.argv[2]!, clock, purgeEveryMs: 10, probeEveryMs: 10, purgeChunkRows: 7, finalRetentionMs: 60_000 });
// The connection is private to the store: reached here only to fill "its disk".
const db = (store as unknown as { db: Database.Database }).db;
const alive = setInterval(() => undefined, 1000); // a server keeps the process up; the store's timers are unref'd

const message = (id: string): NewMessage => {
  const nowMs = clock.nowMs();
  return {
    id, tenantId: 't', phoneNumberId: '1001', to: '15550001', toInput: '15550001', body: JSON.stringify({ text: 'x'.repeat(2000) }),
    priority: 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000, idempotencyKey: `key-${id}`, bodyHash: 'h',
  };
};
const enqueue = async (id: string) => {
  try {
    return (await store.enqueue(message(id))).kind;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
};

// Final records for the purge to find once they are past retention.
for (let i = 0; i < 50; i++) {
  await store.enqueue(message(`old-${i}`));
  await store.transition(`old-${i}`, { state: 'expired', atMs: clock.nowMs() });
}
db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
const refused = await Promise.all(Array.from({ length: 50 }, (_, i) => enqueue(`full-${i}`)));
await sleep(300);
console.log(JSON.stringify({ phase: 'full', refused: [...new Set(refused)] }));

// The old records pass retention: the purge, running on the full disk, frees room for new messages.
offsetMs += 120_000;
while ((await store.get('t', 'old-49')) !== null) await sleep(10);
console.log(JSON.stringify({ phase: 'purged', accepted: await enqueue('in-freed-room'), healthy: store.healthy() }));

db.pragma('max_page_count = 1073741823');
console.log(JSON.stringify({ phase: 'freed', accepted: await enqueue('after') }));
await store.close();
clearInterval(alive);
