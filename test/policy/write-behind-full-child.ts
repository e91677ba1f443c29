/**
 * Child of write-behind-full.test.ts: the policy store's write-behind on a disk that fills up,
 * then frees space, then fills again for the shutdown. SQLite's max_page_count on the store's
 * state connection makes every commit that would grow the file fail with SQLITE_FULL, the error a
 * full disk gives. Prints one JSON line per phase; a throw out of a timer or out of close() kills
 * the process (or ends it non-zero).
 */
import Database from 'better-sqlite3';
import { openPolicyStore } from '../../src/policy/store.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const file = process.argv[2]!;
const errors: string[] = [];
const store = openPolicyStore(file, { writeBehindMs: 10, onError: (err) => errors.push((err as { code?: string }).code ?? String(err)) });
// The write-behind connection is private to the store: reached here only to fill "its disk".
const stateDb = (store as unknown as { stateDb: Database.Database }).stateDb;
const alive = setInterval(() => undefined, 1000); // a server keeps the process up; the store's timers are unref'd
const count = () => {
  const reader = new Database(file, { readonly: true });
  try {
    return reader.prepare('SELECT count(*) FROM tier_charges').pluck().get();
  } finally {
    reader.close();
  }
};
const full = () => stateDb.pragma(`max_page_count = ${stateDb.pragma('page_count', { simple: true }) as number}`);
const pad = 'x'.repeat(200);

full();
for (let i = 0; i < 300; i++) store.write({ kind: 'charge', tenantId: 't', recipient: `${pad}${i}`, atMs: 1000 + i });
await sleep(300);
console.log(JSON.stringify({ phase: 'full', errors: [...new Set(errors)], written: count() }));

stateDb.pragma('max_page_count = 1073741823');
await sleep(1500); // the retry runs every second
console.log(JSON.stringify({ phase: 'freed', written: count() }));

full();
for (let i = 0; i < 300; i++) store.write({ kind: 'window', phoneNumberId: 'n', user: `${pad}${i}`, atMs: 2000 + i });
errors.length = 0;
store.close(); // the last batch cannot commit: reported, not thrown
console.log(JSON.stringify({ phase: 'closed', errors: [...new Set(errors)] }));
clearInterval(alive);
