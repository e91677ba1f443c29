/**
 * Child process of crash.test.ts: enqueues messages without pause and prints each acknowledgement
 * only after its promise resolved, until the parent kills it with SIGKILL.
 *
 *   node crash-child.js <dataDir> <idPrefix>
 *
 * stdout lines:  `E <id>` enqueue acknowledged;  `S <id> <wamid>` transition to sent acknowledged.
 * Writes to a pipe are synchronous on Linux, so a printed line has left the process before any kill.
 */
import { systemClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { bodyFor } from './crash-body.js';

const [dataDir, prefix] = process.argv.slice(2);
if (dataDir === undefined || prefix === undefined) throw new Error('usage: crash-child <dataDir> <idPrefix>');

const IN_FLIGHT = 64;
const store = new EmbeddedStore({ path: dataDir, clock: systemClock });
let n = 0;

function next(): NewMessage {
  n++;
  const id = `${prefix}-${n}`;
  const nowMs = systemClock.nowMs();
  return {
    id, tenantId: 'crash', phoneNumberId: '1001', to: '15550001111', toInput: '15550001111', body: bodyFor(id),
    priority: (n % 2) as 0 | 1, createdAtMs: nowMs, deadlineAtMs: nowMs + 3_600_000,
    idempotencyKey: n % 3 === 0 ? `key-${id}` : null, bodyHash: n % 3 === 0 ? `hash-${id}` : null,
  };
}

async function worker(): Promise<never> {
  for (;;) {
    const m = next();
    const outcome = await store.enqueue(m);
    if (outcome.kind !== 'created') throw new Error(`unexpected ${outcome.kind} for ${m.id}`);
    process.stdout.write(`E ${m.id}\n`);
    if (n % 5 === 0) {
      const wamid = `wamid.${m.id}`;
      if (await store.transition(m.id, { state: 'sent', wamid, atMs: systemClock.nowMs() })) {
        process.stdout.write(`S ${m.id} ${wamid}\n`);
      }
    }
  }
}

for (let i = 0; i < IN_FLIGHT; i++) {
  worker().catch((error: unknown) => {
    process.stderr.write(`crash-child: ${String(error)}\n`);
    process.exit(1);
  });
}
