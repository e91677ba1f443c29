/** The policy database is versioned like the gateway's other files: an unversioned file upgrades in place. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openPolicyStore, POLICY_DB_FILE } from '../../src/policy/index.js';
import { POLICY_MIGRATIONS } from '../../src/policy/store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('policy database migrations', () => {
  it('a file written before versioning keeps its records and is brought to the last version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-policy-mig-'));
    dirs.push(dir);
    const file = join(dir, POLICY_DB_FILE);
    const old = new Database(file);
    old.exec(POLICY_MIGRATIONS[0]!.sql); // the schema as unversioned files have it (user_version 0)
    old.prepare("INSERT INTO consent (tenant_id, recipient, status, source, at_ms) VALUES ('acme', '15550001', 'opt_out', 'inbound', 1000)").run();
    old.close();

    const store = openPolicyStore(file);
    expect(store.getConsent('acme', '15550001')?.status).toBe('opt_out');
    store.close();
    const check = new Database(file);
    expect(check.pragma('user_version', { simple: true })).toBe(POLICY_MIGRATIONS.at(-1)!.version);
    check.close();
  });
});
