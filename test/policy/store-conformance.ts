/**
 * The policy store conformance suite: what the SQLite PolicyStore (store.ts) and the Redis one
 * (redis-store.ts) must both do. Calls are awaited, so the synchronous store runs it unchanged.
 * Time is passed in (no wall clock); tenants `acme` (numbers 1001, 1002) and `other` (2002).
 */
import { describe, expect, it } from 'vitest';
import type { LoadedState, StateWrite } from '../../src/policy/store.js';
import type { ConsentRecord } from '../../src/policy/types.js';

type Maybe<T> = T | Promise<T>;

/** The surface both stores share; `write` takes the caller's clock (Redis trims with it; SQLite ignores it). */
export interface ConformingPolicyStore {
  putConsent(records: readonly ConsentRecord[], recordedMs: number): Maybe<number>;
  getConsent(tenantId: string, recipient: string): Maybe<ConsentRecord | undefined>;
  consentHistory(tenantId: string, recipient: string, limit: number): Maybe<ConsentRecord[]>;
  windowOpenedMs(phoneNumberId: string, user: string): Maybe<number | undefined>;
  write(change: StateWrite, nowMs: number): Maybe<void>;
  loadState(sinceMs: number, nowMs: number): Maybe<LoadedState>;
  flush(): Maybe<void>;
  close(): Maybe<void>;
}

export const TENANTS = [{ id: 'acme', numbers: ['1001', '1002'] }, { id: 'other', numbers: ['2002'] }] as const;

const T0 = Date.parse('2026-03-02T10:00:00Z');
const HOUR = 3_600_000;
const rec = (recipient: string, status: 'opt_in' | 'opt_out', atMs: number, source = 'api', tenantId = 'acme'): ConsentRecord =>
  ({ tenantId, recipient, status, source, atMs });

export function describePolicyStoreConformance(name: string, open: () => Promise<ConformingPolicyStore>): void {
  describe(`policy store conformance: ${name}`, () => {
    it('records consent: the newest record is current, every record is in the log, newest first', async () => {
      const s = await open();
      expect(await s.putConsent([rec('1555', 'opt_in', T0)], T0)).toBe(1);
      expect(await s.putConsent([rec('1555', 'opt_out', T0 + 1000, 'inbound')], T0 + 1000)).toBe(1);
      expect(await s.getConsent('acme', '1555')).toEqual(rec('1555', 'opt_out', T0 + 1000, 'inbound'));
      // An older record (an old import) is logged but does not undo the recent STOP.
      expect(await s.putConsent([rec('1555', 'opt_in', T0 - HOUR, 'import')], T0 + 2000)).toBe(0);
      expect((await s.getConsent('acme', '1555'))?.status).toBe('opt_out');
      const history = await s.consentHistory('acme', '1555', 50);
      expect(history.map((h) => [h.status, h.source, h.atMs])).toEqual([
        ['opt_in', 'import', T0 - HOUR], ['opt_out', 'inbound', T0 + 1000], ['opt_in', 'api', T0],
      ]);
      expect(await s.consentHistory('acme', '1555', 2)).toHaveLength(2);
      expect(await s.getConsent('other', '1555')).toBeUndefined();
      expect(await s.getConsent('acme', '1999')).toBeUndefined();
      await s.close();
    });

    it('dates a record no later than its recording, so a future date cannot mask a later STOP', async () => {
      const s = await open();
      await s.putConsent([rec('1666', 'opt_in', T0 + 10 * HOUR)], T0);
      expect((await s.getConsent('acme', '1666'))?.atMs).toBe(T0);
      expect(await s.putConsent([rec('1666', 'opt_out', T0 + 1)], T0 + 1)).toBe(1);
      expect((await s.getConsent('acme', '1666'))?.status).toBe('opt_out');
      // Bulk: several records in one call, counted by how many changed the current status.
      expect(await s.putConsent([rec('1667', 'opt_out', T0), rec('1668', 'opt_in', T0), rec('1667', 'opt_in', T0 - 5)], T0 + 2)).toBe(2);
      expect((await s.getConsent('acme', '1667'))?.status).toBe('opt_out');
      await s.close();
    });

    it('keeps the latest inbound of a window (a late webhook never moves it back) and replays windows of the last 24 h', async () => {
      const s = await open();
      await s.write({ kind: 'window', phoneNumberId: '1001', user: '1555', atMs: T0 }, T0);
      await s.write({ kind: 'window', phoneNumberId: '1001', user: '1555', atMs: T0 - 5000 }, T0);
      await s.write({ kind: 'window', phoneNumberId: '2002', user: '1555', atMs: T0 - 30 * HOUR }, T0);
      await s.write({ kind: 'window', phoneNumberId: '1002', user: '1777', atMs: T0 - HOUR }, T0);
      await s.flush();
      expect(await s.windowOpenedMs('1001', '1555')).toBe(T0);
      expect(await s.windowOpenedMs('1001', '1999')).toBeUndefined();
      const state = await s.loadState(T0 - 24 * HOUR, T0);
      expect(state.windows).toEqual([
        { phoneNumberId: '1002', user: '1777', atMs: T0 - HOUR },
        { phoneNumberId: '1001', user: '1555', atMs: T0 },
      ]);
      await s.close();
    });

    it('replays deferrals still running, with both ends', async () => {
      const s = await open();
      await s.write({ kind: 'deferral', tenantId: 'acme', recipient: '1555', undeliverableUntilMs: T0 + HOUR, marketingUntilMs: 0 }, T0);
      await s.write({ kind: 'deferral', tenantId: 'acme', recipient: '1555', undeliverableUntilMs: T0 + HOUR, marketingUntilMs: T0 + 2 * HOUR }, T0);
      await s.write({ kind: 'deferral', tenantId: 'other', recipient: '1666', undeliverableUntilMs: T0 + 1000, marketingUntilMs: 0 }, T0);
      await s.flush();
      const later = await s.loadState(T0 - 24 * HOUR, T0 + 2000);
      expect(later.deferrals).toEqual([{ tenantId: 'acme', recipient: '1555', undeliverableUntilMs: T0 + HOUR, marketingUntilMs: T0 + 2 * HOUR }]);
      await s.close();
    });

    it('replays tier charges of the last 24 h; an uncharge removes one', async () => {
      const s = await open();
      await s.write({ kind: 'charge', tenantId: 'acme', recipient: '1555', atMs: T0 - 2 * HOUR }, T0 - 2 * HOUR);
      await s.write({ kind: 'charge', tenantId: 'acme', recipient: '1666', atMs: T0 - HOUR }, T0 - HOUR);
      await s.write({ kind: 'charge', tenantId: 'other', recipient: '1777', atMs: T0 - HOUR }, T0 - HOUR);
      await s.write({ kind: 'uncharge', tenantId: 'acme', recipient: '1666' }, T0);
      await s.flush();
      const state = await s.loadState(T0 - 24 * HOUR, T0);
      const charges = state.charges.map((c) => ({ ...c, atMs: Math.floor(c.atMs / 60_000) * 60_000 }));
      expect(charges).toEqual([
        { tenantId: 'acme', recipient: '1555', atMs: T0 - 2 * HOUR },
        { tenantId: 'other', recipient: '1777', atMs: T0 - HOUR },
      ]);
      // A day later they have left the moving 24 h.
      expect((await s.loadState(T0 + 23 * HOUR, T0 + 25 * HOUR)).charges).toEqual([]);
      await s.close();
    });

    it('keeps the first send of a number, not a later one', async () => {
      const s = await open();
      await s.write({ kind: 'firstSend', phoneNumberId: '1001', atMs: T0 }, T0);
      await s.write({ kind: 'firstSend', phoneNumberId: '1001', atMs: T0 + HOUR }, T0 + HOUR);
      await s.flush();
      expect((await s.loadState(T0, T0 + HOUR)).firstSends).toEqual([{ phoneNumberId: '1001', atMs: T0 }]);
      await s.close();
    });
  });
}
