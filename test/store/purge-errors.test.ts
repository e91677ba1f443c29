/**
 * A purge that cannot run (another connection holds the write lock) is reported to the store's
 * onError (the worker forwards it to the gateway's log), never thrown out of its timer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../src/clock.js';
import { DB_FILE } from '../../src/store/embedded/database.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';

const dir = mkdtempSync(join(tmpdir(), 'sendgate-purge-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('embedded store purge failures', () => {
  it('are reported with what failed, period after period', async () => {
    const reported: Array<{ what: string; code: unknown }> = [];
    const store = new EmbeddedStore({
      path: dir, clock: systemClock, exclusive: false, busyTimeoutMs: 5, purgeEveryMs: 10,
      onError: (err, what) => reported.push({ what, code: (err as { code?: unknown }).code }),
    });
    const other = new Database(join(dir, DB_FILE));
    try {
      other.exec('BEGIN IMMEDIATE');
      while (reported.length < 2) await new Promise((r) => setTimeout(r, 10));
      expect(reported[0]).toEqual({ what: 'store purge', code: 'SQLITE_BUSY' });
      other.exec('COMMIT');
    } finally {
      other.close();
      await store.close();
    }
  });
});
