/**
 * Write-behind admission state: batched in memory, committed by a timer on the store's own state
 * connection (no flush needed), and read back after a restart; consent stays synchronous.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openPolicyStore, POLICY_DB_FILE } from '../../src/policy/index.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'sendgate-policy-store-')), POLICY_DB_FILE);

describe('policy store write-behind', () => {
  it('commits queued state after writeBehindMs without a flush, in one batch, in order', async () => {
    const file = fresh();
    const store = openPolicyStore(file, { writeBehindMs: 20 });
    store.write({ kind: 'charge', tenantId: 't', recipient: '1', atMs: 1000 });
    store.write({ kind: 'charge', tenantId: 't', recipient: '2', atMs: 1001 });
    store.write({ kind: 'uncharge', tenantId: 't', recipient: '1' });
    store.write({ kind: 'window', phoneNumberId: 'n', user: '2', atMs: 1002 });
    const reader = new Database(file, { readonly: true });
    try {
      const charges = () => reader.prepare('SELECT recipient, at_ms FROM tier_charges ORDER BY recipient').all();
      expect(charges()).toEqual([]); // not yet: write-behind
      for (let i = 0; i < 100 && charges().length === 0; i++) await sleep(10);
      expect(charges()).toEqual([{ recipient: '2', at_ms: 1001 }]);
      expect(store.windowOpenedMs('n', '2')).toBe(1002);
    } finally {
      reader.close();
      store.close();
    }
  });

  it('close() commits what is still queued; the state loads back', () => {
    const file = fresh();
    const store = openPolicyStore(file, { writeBehindMs: 60_000 });
    store.write({ kind: 'deferral', tenantId: 't', recipient: '9', undeliverableUntilMs: 5000, marketingUntilMs: 0 });
    store.write({ kind: 'firstSend', phoneNumberId: 'n', atMs: 10 });
    store.close();
    const again = openPolicyStore(file);
    try {
      const state = again.loadState(0, 1000);
      expect(state.deferrals).toEqual([{ tenantId: 't', recipient: '9', undeliverableUntilMs: 5000, marketingUntilMs: 0 }]);
      expect(state.firstSends).toEqual([{ phoneNumberId: 'n', atMs: 10 }]);
    } finally {
      again.close();
    }
  });

  it('consent is readable by another connection as soon as putConsent returns, while state waits', () => {
    const file = fresh();
    const store = openPolicyStore(file, { writeBehindMs: 60_000 });
    store.write({ kind: 'window', phoneNumberId: 'n', user: '5', atMs: 1 });
    store.putConsent([{ tenantId: 't', recipient: '5', status: 'opt_out', source: 'api', atMs: 2 }], 3);
    const reader = new Database(file, { readonly: true });
    try {
      expect(reader.prepare('SELECT status FROM consent WHERE recipient = ?').get('5')).toEqual({ status: 'opt_out' });
      expect(reader.prepare('SELECT count(*) AS n FROM windows').get()).toEqual({ n: 0 });
    } finally {
      reader.close();
      store.close();
    }
  });

  it('an in-memory store keeps one connection and still commits', () => {
    const store = openPolicyStore(':memory:', { writeBehindMs: 60_000 });
    store.write({ kind: 'window', phoneNumberId: 'n', user: '7', atMs: 42 });
    store.flush();
    expect(store.windowOpenedMs('n', '7')).toBe(42);
    store.close();
  });
});
