/**
 * storage.retentionDays reaches the store the gateway runs (in its worker thread): final records
 * older than that are purged, waiting ones are kept whatever their age.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { openStore } from '../../src/store/index.js';
import { message } from './conformance.js';

const T0 = 1_700_000_000_000;
const DAY_MS = 86_400_000;
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('storage.retentionDays', () => {
  it('purges final records older than the retention at open, and keeps waiting ones of any age', async () => {
    dir = mkdtempSync(join(tmpdir(), 'sendgate-retention-'));
    const storage = (retentionDays?: number) => parseConfig({
      storage: { kind: 'embedded', path: dir, ...(retentionDays === undefined ? {} : { retentionDays }) },
      tenants: [{ id: 'acme', apiKeys: ['key-retention-1'], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG' }] }],
    }, 'test').storage;
    const clock = new ManualClock(T0);
    let store = await openStore(storage(2), clock);
    const done = message({ createdAtMs: T0 });
    const waiting = message({ createdAtMs: T0 });
    await store.enqueue(done);
    await store.enqueue(waiting);
    await store.transition(done.id, { state: 'sent', wamid: 'wamid.R', atMs: T0 });
    await store.close();

    // Three days on, the default (30 days) keeps it; a retention of 2 days does not.
    clock.advance(3 * DAY_MS);
    store = await openStore(storage(), clock);
    expect(await store.get('acme', done.id)).not.toBeNull();
    await store.close();
    store = await openStore(storage(2), clock);
    expect(await store.get('acme', done.id)).toBeNull();
    expect((await store.get('acme', waiting.id))?.state).toBe('queued');
    await store.close();
  });
});
