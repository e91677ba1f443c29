import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWebhooksDb } from '../../src/webhooks/db.js';
import { SqliteSeenMarks } from '../../src/webhooks/meta/seen-marks.js';
import { describeSeenMarksConformance } from './seen-marks-conformance.js';

describeSeenMarksConformance('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-marks-'));
  return {
    async open({ ttlMs, nowMs }) {
      const db = openWebhooksDb(dir);
      const marks = new SqliteSeenMarks(db, { ttlMs, flushEveryMs: 60_000, nowMs });
      return {
        marks,
        async close() {
          marks.close();
          db.close();
        },
      };
    },
    async cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
