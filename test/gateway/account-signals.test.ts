/**
 * AccountSignals on its own: a Meta restriction pauses the tenant until its expiration (Meta sends
 * nothing when it lapses), also across a restart (the state is restored from the control entries);
 * a ban or a restriction without an expiration waits for a lift.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { parseConfig } from '../../src/config/load.js';
import { AccountSignals } from '../../src/gateway/account-signals.js';
import { TenantRegistry } from '../../src/gateway/tenants.js';
import type { ControlEntry } from '../../src/store/types.js';
import { parseMetaWebhook, type SignalEvent } from '../../src/webhooks/index.js';
import { accountRestriction, META_WABA_ID } from '../webhooks/meta-signal-fixtures.js';

const config = parseConfig({
  upstream: { baseUrl: 'http://127.0.0.1:9', version: 'v23.0' },
  tenants: [{ id: 'acme', apiKeys: ['key-acme-signals'], wabaIds: [META_WABA_ID], numbers: [{ phoneNumberId: '1001', accessToken: 'EAAG-1' }] }],
}, 'test');

function harness(clock: ManualClock, entries: Map<string, unknown>) {
  const calls: string[] = [];
  const signals = new AccountSignals({
    tenants: new TenantRegistry(config), clock, expiryCheckMs: 3_600_000,
    store: { putControl: async (key, value) => void (value === null ? entries.delete(key) : entries.set(key, structuredClone(value))) },
    setMessagingLimit: () => {}, recordConsent: () => 0,
  });
  signals.restore([...entries].map(([key, value]): ControlEntry => ({ key, value, updatedAtMs: 0 })));
  signals.attach({
    pauseTenant: (id) => void calls.push(`pause ${id}`),
    resumeTenant: (id) => void calls.push(`resume ${id}`),
    setLimits: () => {},
  }, { info: () => {}, warn: () => {} });
  return { signals, calls };
}

const event = (payload: object) => parseMetaWebhook(payload)[0] as SignalEvent;
const restriction = (expiration: string) => event(accountRestriction([{ type: 'RESTRICTED_BIZ_INITIATED_MESSAGING', expiration }]));

describe('Meta restrictions', () => {
  it('pause the tenant until they expire, also when the expiry passes while the gateway is down', async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 19, 12, 0, 0));
    const entries = new Map<string, unknown>();
    const a = harness(clock, entries);
    await a.signals.onSignal(restriction('2026-04-19T13:59:20+0000'));
    expect(a.calls).toEqual(['pause acme']);
    clock.advance(3_600_000); // 13:00: still restricted
    await a.signals.resumeExpired();
    expect(a.calls).toEqual(['pause acme']);
    a.signals.close();

    // Restart after the expiration: the restored state resumes the tenant at once.
    clock.advance(2 * 3_600_000);
    const b = harness(clock, entries);
    await b.signals.resumeExpired();
    expect(b.calls).toEqual(['resume acme']);
    b.signals.close();
  });

  it('a restriction without a readable expiration waits for a lift', async () => {
    const clock = new ManualClock(Date.UTC(2026, 3, 19, 12, 0, 0));
    const a = harness(clock, new Map());
    await a.signals.onSignal(restriction('someday'));
    clock.advance(365 * 86_400_000);
    await a.signals.resumeExpired();
    expect(a.calls).toEqual(['pause acme']);
    await a.signals.onSignal(event(accountRestriction([])));
    expect(a.calls).toEqual(['pause acme', 'resume acme']);
    a.signals.close();
  });
});
