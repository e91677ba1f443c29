/**
 * Child of seen-marks-full.test.ts: durable dedupe marks on a disk that fills up, then frees space.
 * SQLite's max_page_count makes every write that would grow the file fail with SQLITE_FULL, the
 * error a full disk gives. Prints one JSON line per phase; a throw out of a timer kills the process.
 */
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteSeenMarks } from '../../src/webhooks/meta/seen-marks.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const dir = process.argv[2]!;
const db = openWebhooksDb(dir);
const errors: string[] = [];
const marks = new SqliteSeenMarks(db, { flushEveryMs: 20, onError: (err) => errors.push((err as { code?: string }).code ?? String(err)) });
// Keeps the process up for the whole script, as a server would be (the flush timer is unref'd).
const alive = setInterval(() => undefined, 1000);

db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true }) as number}`);
const keys = Array.from({ length: 500 }, (_, i) => `s:wamid.${'x'.repeat(40)}${i}:delivered`);
marks.mark(keys, Date.now());
await sleep(300);
console.log(JSON.stringify({ phase: 'full', stats: marks.stats(), errors: [...new Set(errors)], seen: (await marks.seen(keys)).size }));

db.pragma('max_page_count = 1073741823');
await sleep(200);
const written = db.prepare('SELECT count(*) FROM meta_seen').pluck().get();
console.log(JSON.stringify({ phase: 'freed', stats: marks.stats(), written }));
marks.close();
db.close();
clearInterval(alive);
