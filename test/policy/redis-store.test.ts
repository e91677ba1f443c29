/**
 * The policy store conformance suite against the SQLite store, a real redis-server (AOF, fsync
 * always) and a real 3-master Redis Cluster (every script touches one slot: no CROSSSLOT). Each
 * Redis test gets its own key prefix; plus what only the Redis store has (the one-read recipient
 * state, deferral merging across processes, the opt-out scan, bounded logs and TTLs).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPolicyStore, POLICY_DB_FILE } from '../../src/policy/store.js';
import { CONSENT_LOG_MAX, RedisPolicyStore } from '../../src/policy/redis-store.js';
import { defineScripts, type RedisClient } from '../../src/store/redis/commands.js';
import { connectRedis, parseRedisUrl } from '../../src/store/redis/connection.js';
import { RedisKeys } from '../../src/store/redis/keys.js';
import { startRedis, startRedisCluster, type RedisCluster, type RedisServer } from '../support/redis-server.js';
import { describePolicyStoreConformance, TENANTS, type ConformingPolicyStore } from './store-conformance.js';

let server: RedisServer;
let cluster: RedisCluster;
let single: RedisClient;
let clustered: RedisClient;

beforeAll(async () => {
  [server, cluster] = await Promise.all([startRedis(), startRedisCluster()]);
  [single, clustered] = await Promise.all([connectRedis(parseRedisUrl(server.url)), connectRedis(parseRedisUrl(cluster.url))]);
});

afterAll(async () => {
  single?.disconnect();
  clustered?.disconnect();
  await Promise.all([server?.stop(), cluster?.stop()]);
});

const prefix = () => `test-${randomBytes(6).toString('hex')}`;

function redisStore(client: RedisClient, keyPrefix = prefix()): RedisPolicyStore {
  return new RedisPolicyStore({ client, keys: new RedisKeys(keyPrefix), run: defineScripts(client), tenants: TENANTS });
}

describePolicyStoreConformance('sqlite', async () => {
  const s = openPolicyStore(join(mkdtempSync(join(tmpdir(), 'sendgate-policy-conf-')), POLICY_DB_FILE));
  return {
    putConsent: (records, recordedMs) => s.putConsent(records, recordedMs),
    getConsent: (tenantId, recipient) => s.getConsent(tenantId, recipient),
    consentHistory: (tenantId, recipient, limit) => s.consentHistory(tenantId, recipient, limit),
    windowOpenedMs: (phoneNumberId, user) => s.windowOpenedMs(phoneNumberId, user),
    // Write-behind: committed by flush(), which the suite calls before reading.
    write: (change) => s.write(change),
    loadState: (sinceMs, nowMs) => s.loadState(sinceMs, nowMs),
    flush: () => s.flush(),
    close: () => s.close(),
  } satisfies ConformingPolicyStore;
});

describePolicyStoreConformance('redis', async () => redisStore(single));

describePolicyStoreConformance('redis cluster (3 masters)', async () => redisStore(clustered));

const T0 = Date.parse('2026-03-02T10:00:00Z');
const HOUR = 3_600_000;

describe('redis policy store', () => {
  it('reads a recipient\'s consent, window, deferrals and the number\'s first send in one pipeline', async () => {
    for (const client of [single, clustered]) {
      const s = redisStore(client);
      expect(await s.recipientState('acme', '1001', '1555', T0)).toEqual({
        consent: undefined, windowOpenedMs: undefined, deferral: { undeliverableUntilMs: 0, marketingUntilMs: 0 }, firstSendMs: undefined,
      });
      await s.putConsent([{ tenantId: 'acme', recipient: '1555', status: 'opt_out', source: 'inbound', atMs: T0 }], T0);
      await s.write({ kind: 'window', phoneNumberId: '1001', user: '1555', atMs: T0 }, T0);
      await s.write({ kind: 'firstSend', phoneNumberId: '1001', atMs: T0 - HOUR }, T0);
      await s.extendDeferral('acme', '1555', { marketingUntilMs: T0 + HOUR }, T0);
      expect(await s.recipientState('acme', '1001', '1555', T0 + 1000)).toEqual({
        consent: { tenantId: 'acme', recipient: '1555', status: 'opt_out', source: 'inbound', atMs: T0 },
        windowOpenedMs: T0, deferral: { undeliverableUntilMs: 0, marketingUntilMs: T0 + HOUR }, firstSendMs: T0 - HOUR,
      });
      // The window closes 24 h after the inbound; the deferral ends when it said.
      const later = await s.recipientState('acme', '1001', '1555', T0 + 24 * HOUR);
      expect(later.windowOpenedMs).toBeUndefined();
      expect(later.deferral).toEqual({ undeliverableUntilMs: 0, marketingUntilMs: 0 });
      // Another number of the tenant has its own window.
      expect((await s.recipientState('acme', '1002', '1555', T0 + 1000)).windowOpenedMs).toBeUndefined();
    }
  });

  it('builds every policy key of a tenant in the tenant\'s one slot, also when its id holds braces', async () => {
    const keys = new RedisKeys('slots');
    for (const tenantId of ['acme', 'we{ir}d', '{x}']) {
      const b = keys.policyBudget(tenantId);
      const r = keys.policyRepeat(tenantId, 'ffffffffffffffff');
      const all = [
        keys.policyConsent(tenantId), keys.policyOptedOut(tenantId), keys.policyConsentLog(tenantId, '1555'), keys.policyWindows(tenantId),
        keys.policyDeferrals(tenantId), keys.policyDeferralEnds(tenantId), keys.policyFirstSends(tenantId),
        b.clock, b.tierRing, b.tierMembers, b.tierHolders, r.ring, r.members, keys.record(tenantId, 'm1'),
      ];
      const slots = await Promise.all(all.map((k) => (clustered as unknown as { cluster(...a: string[]): Promise<number> }).cluster('KEYSLOT', k)));
      expect(new Set(slots).size).toBe(1);
    }
  });

  it('merges deferrals from several processes: ends only move later; an inbound lifts undeliverable only', async () => {
    const p = prefix();
    const a = redisStore(single, p);
    const b = redisStore(single, p);
    await a.extendDeferral('acme', '1555', { undeliverableUntilMs: T0 + 2 * HOUR }, T0);
    expect(await b.extendDeferral('acme', '1555', { marketingUntilMs: T0 + HOUR, undeliverableUntilMs: T0 + HOUR }, T0))
      .toEqual({ undeliverableUntilMs: T0 + 2 * HOUR, marketingUntilMs: T0 + HOUR });
    expect(await a.clearUndeliverable('acme', '1555', T0)).toEqual({ undeliverableUntilMs: 0, marketingUntilMs: T0 + HOUR });
    expect(await b.clearUndeliverable('acme', '1555', T0 + 2 * HOUR)).toEqual({ undeliverableUntilMs: 0, marketingUntilMs: 0 });
    const keys = new RedisKeys(p);
    expect(await single.exists(keys.policyDeferrals('acme'), keys.policyDeferralEnds('acme'))).toBe(0);
  });

  it('with replicas, a consent write resolves once they hold it, and fails when too few confirm', async () => {
    const replica = await startRedis({ args: ['--save', '', '--replicaof', '127.0.0.1', String(server.port)] });
    try {
      for (;;) {
        const info = await single.info('replication');
        if (/slave0:.*state=online/.test(info)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const keys = new RedisKeys(prefix());
      const one = new RedisPolicyStore({ client: single, keys, run: defineScripts(single), tenants: TENANTS, replicas: { replicas: 1, timeoutMs: 2_000 } });
      expect(await one.putConsent([{ tenantId: 'acme', recipient: '1555', status: 'opt_out', source: 'api', atMs: T0 }], T0)).toBe(1);
      const two = new RedisPolicyStore({ client: single, keys, run: defineScripts(single), tenants: TENANTS, replicas: { replicas: 2, timeoutMs: 100 } });
      await expect(two.putConsent([{ tenantId: 'acme', recipient: '1556', status: 'opt_out', source: 'api', atMs: T0 }], T0)).rejects.toThrow(/1 of 2 replicas/);
    } finally {
      await replica.stop();
    }
  });

  it('lists current opt-outs (an opt-in after an opt-out takes the recipient out)', async () => {
    const s = redisStore(single);
    const records = Array.from({ length: 2500 }, (_, i) => ({ tenantId: 'acme', recipient: `1555${String(i).padStart(6, '0')}`, status: 'opt_out' as const, source: 'import', atMs: T0 }));
    await s.putConsent(records, T0);
    await s.putConsent([{ tenantId: 'acme', recipient: '1555000007', status: 'opt_in', source: 'api', atMs: T0 + 1 }], T0 + 1);
    const seen: string[] = [];
    for await (const page of s.optedOut('acme')) seen.push(...page.map((r) => r.recipient));
    expect(seen).toHaveLength(2499);
    expect(seen).not.toContain('1555000007');
    for await (const page of s.optedOut('other')) expect(page).toEqual([]);
  });

  it('bounds every key: the consent log is trimmed and expires; windows, budgets and deferrals carry TTLs', async () => {
    const p = prefix();
    const s = redisStore(single, p);
    const keys = new RedisKeys(p);
    for (let i = 0; i < CONSENT_LOG_MAX + 20; i++) {
      await s.putConsent([{ tenantId: 'acme', recipient: '1555', status: i % 2 === 0 ? 'opt_in' : 'opt_out', source: 'api', atMs: T0 + i }], T0 + i);
    }
    expect(await single.llen(keys.policyConsentLog('acme', '1555'))).toBe(CONSENT_LOG_MAX);
    expect(await single.pttl(keys.policyConsentLog('acme', '1555'))).toBeGreaterThan(300 * 24 * HOUR);
    await s.write({ kind: 'window', phoneNumberId: '1001', user: '1555', atMs: T0 }, T0);
    await s.extendDeferral('acme', '1555', { marketingUntilMs: T0 + HOUR }, T0);
    await s.budgets.charge('acme', '1555', { limit: 10, hold: true, shadow: false, repeat: { fingerprint: 'abc', windowMs: 60_000, maxRecipients: 5 } }, T0);
    const budget = keys.policyBudget('acme');
    const repeat = keys.policyRepeat('acme', (await import('../../src/policy/redis-budgets.js')).fingerprintKey('abc'));
    const ttls = await Promise.all([
      keys.policyWindows('acme'), keys.policyDeferrals('acme'), keys.policyDeferralEnds('acme'),
      budget.clock, budget.tierRing, budget.tierMembers, budget.tierHolders, repeat.ring, repeat.members,
    ].map((k) => single.pttl(k)));
    for (const ttl of ttls) expect(ttl).toBeGreaterThan(0);
    expect(ttls[0]).toBeLessThanOrEqual(24 * HOUR);
    expect(ttls[7]).toBeLessThanOrEqual(60_000 + 10_000);
  });
});
