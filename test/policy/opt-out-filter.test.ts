/** The opt-out filter: never a false "no", few false "maybe", rebuilt from the consent table at open. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { OptOutFilter } from '../../src/policy/opt-out-filter.js';
import { openPolicyStore, POLICY_DB_FILE } from '../../src/policy/index.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('OptOutFilter', () => {
  it('answers maybe for every recipient added and no for almost every other one', () => {
    const filter = new OptOutFilter();
    for (let i = 0; i < 100_000; i++) filter.add('acme', `1555${i}`);
    for (let i = 0; i < 100_000; i++) expect(filter.mayContain('acme', `1555${i}`)).toBe(true);
    let falseMaybe = 0;
    for (let i = 0; i < 100_000; i++) if (filter.mayContain('acme', `1666${i}`)) falseMaybe++;
    expect(falseMaybe).toBeLessThan(100); // < 0.1 % at 100,000 entries in 2^24 bits
    // Another tenant's recipient with the same digits is another key.
    let otherTenant = 0;
    for (let i = 0; i < 10_000; i++) if (filter.mayContain('other', `1555${i}`)) otherTenant++;
    expect(otherTenant).toBeLessThan(20);
  });

  it('the policy store answers from it, and rebuilds it from the consent table when reopened', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sendgate-optout-'));
    dirs.push(dir);
    const file = join(dir, POLICY_DB_FILE);
    const first = openPolicyStore(file);
    expect(first.mayBeOptedOut('acme', '15550001')).toBe(false);
    first.putConsent([{ tenantId: 'acme', recipient: '15550001', status: 'opt_out', source: 'inbound', atMs: 1000 }], 2000);
    first.putConsent([{ tenantId: 'acme', recipient: '15550002', status: 'opt_in', source: 'form', atMs: 1000 }], 2000);
    expect(first.mayBeOptedOut('acme', '15550001')).toBe(true);
    first.close();
    const second = openPolicyStore(file);
    expect(second.mayBeOptedOut('acme', '15550001')).toBe(true);
    expect(second.mayBeOptedOut('acme', '15550002')).toBe(false);
    expect(second.getConsent('acme', '15550001')?.status).toBe('opt_out');
    second.close();
  });
});
