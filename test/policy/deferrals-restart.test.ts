import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { POLICY_DB_FILE } from '../../src/policy/index.js';
import { harness, NUMBER, refusalOf, TENANT, template, text } from './harness.js';

const USER = '15550000001';
const DAY = 86_400_000;

describe('delivery failures', () => {
  it('131026 (undeliverable) refuses every send to that recipient for a day, or until the user writes', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    h.engine.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: NUMBER, to: USER, code: 131026 });
    const refused = refusalOf(() => h.admit({ body: template('order_update', ['A-1']), category: 'utility' }));
    expect(refused).toMatchObject({ code: 'RECIPIENT_UNDELIVERABLE', status: 422 });
    expect(refused.details).toMatch(/^policy undeliverable: .*131026/);
    expect(() => h.admit({ to: '15550000002', body: template('order_update', ['A-1']), category: 'utility' })).not.toThrow();
    h.inbound(USER, 'hello?');
    expect(() => h.admit({ body: text('welcome back') })).not.toThrow();

    h.engine.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: NUMBER, to: '15550000003', code: 131026 });
    h.clock.advance(DAY);
    expect(() => h.admit({ to: '15550000003', body: template('order_update', ['A-1']), category: 'utility' })).not.toThrow();
    h.engine.close();
  });

  it('131049 (marketing cap) refuses marketing to that user until the deferral ends; utility still goes', async () => {
    const h = await harness({ policy: { optIn: 'off', marketingDeferralSec: 3600 } });
    h.engine.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: NUMBER, to: USER, code: 131049 });
    const refused = refusalOf(() => h.admit({ body: template('promo', ['x']), category: 'marketing' }));
    expect(refused).toMatchObject({ code: 'MARKETING_DEFERRED', status: 422 });
    expect(refused.retryAfterSec).toBe(3600);
    expect(() => h.admit({ body: template('order_update', ['A-1']), category: 'utility' })).not.toThrow();
    h.clock.advance(3600_000);
    expect(() => h.admit({ body: template('promo', ['x']), category: 'marketing' })).not.toThrow();
    h.engine.close();
  });
});

describe('durable policy state', () => {
  it('windows, consent, deferrals and warm-up origins survive a restart', async () => {
    const first = await harness({
      policy: { optIn: 'enforce' },
      numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-1', warmup: true }],
    });
    first.inbound(USER, 'hi');
    first.inbound('15550000002', 'STOP');
    first.engine.recordConsent([{ tenantId: TENANT, recipient: '15550000003', status: 'opt_in', source: 'web', atMs: first.clock.nowMs() }]);
    first.engine.onDeliveryFailure({ tenantId: TENANT, phoneNumberId: NUMBER, to: '15550000004', code: 131049 });
    first.admit({ body: text('first send starts the warm-up clock') });
    first.engine.close();

    first.clock.advance(2 * DAY - 3600_000);
    const h = await harness({
      policy: { optIn: 'enforce' }, dir: first.dir, clock: first.clock,
      numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-1', warmup: true }],
    });
    expect(refusalOf(() => h.admit({ body: text('window closed: inbound was 47 h ago') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    expect(refusalOf(() => h.admit({ to: '15550000002', body: template('p', ['x']), category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    expect(() => h.admit({ to: '15550000003', body: template('p', ['x']), category: 'utility' })).not.toThrow();
    expect(h.engine.warmupCapsOf(NUMBER, h.clock.nowMs())).toEqual({ windowMs: 15_000, limit: 150 });
    h.engine.close();

    // A window opened 1 h before a restart is still open after it.
    const third = await harness({ policy: { optIn: 'enforce' }, dir: first.dir, clock: first.clock });
    third.inbound(USER, 'hi again');
    third.engine.close();
    first.clock.advance(3600_000);
    const fourth = await harness({ policy: { optIn: 'enforce', marketingDeferralSec: 30 * 86_400 }, dir: first.dir, clock: first.clock });
    expect(() => fourth.admit({ body: text('still inside the window') })).not.toThrow();
    fourth.engine.close();
  });

  it('consent is on disk (synchronous=FULL) before recordConsent returns, with an audit log', async () => {
    const h = await harness();
    h.engine.recordConsent([{ tenantId: TENANT, recipient: USER, status: 'opt_in', source: 'web', atMs: h.clock.nowMs() }]);
    // A second connection sees it without any flush or close of the engine.
    const db = new Database(join(h.dir, POLICY_DB_FILE), { readonly: true });
    expect(db.prepare('SELECT status, source FROM consent WHERE recipient = ?').get(USER)).toEqual({ status: 'opt_in', source: 'web' });
    expect(db.prepare('SELECT count(*) AS n FROM consent_log').get()).toEqual({ n: 1 });
    db.close();
    h.engine.close();
  });
});
