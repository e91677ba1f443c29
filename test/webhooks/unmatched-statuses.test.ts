/** The unmatched statuses' conformance suite on webhooks.db (Redis: redis-conformance.test.ts). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openWebhooksDb, type WebhooksDb } from '../../src/webhooks/db.js';
import { SqliteUnmatchedStatuses } from '../../src/webhooks/meta/unmatched-statuses.js';
import { describeUnmatchedConformance } from './unmatched-statuses-conformance.js';

describeUnmatchedConformance('embedded SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-unmatched-'));
  const dbs: WebhooksDb[] = [];
  return {
    async open(maxParked) {
      const db = openWebhooksDb(dir);
      dbs.push(db);
      return new SqliteUnmatchedStatuses(db, maxParked);
    },
    async cleanup() {
      for (const db of dbs) db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
