import { describe, expect, it } from 'vitest';
import { harness, NUMBER2, refusalOf, template, text } from './harness.js';

const USER = '15550000001';

describe('policy serviceWindow', () => {
  it('refuses free-form outside the window like 131047, admits after an inbound, refuses again 24 h later', async () => {
    const h = await harness();
    const refused = refusalOf(() => h.admit({ body: text('hello') }));
    expect(refused).toMatchObject({ code: 'OUTSIDE_SERVICE_WINDOW', status: 422 });
    expect(refused.details).toMatch(/^policy serviceWindow: .*template/);

    h.inbound(USER, 'hi, I need help');
    expect(h.admit({ body: text('hello') }).warnings).toEqual([]);

    h.clock.advance(24 * 3600_000 - 1);
    expect(() => h.admit({ body: text('still open') })).not.toThrow();
    h.clock.advance(1);
    expect(refusalOf(() => h.admit({ body: text('closed') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    h.engine.close();
  });

  it('is per (number, user): a window on one number does not open another', async () => {
    const h = await harness();
    h.inbound(USER, 'hi');
    expect(refusalOf(() => h.admit({ phoneNumberId: NUMBER2, body: text('x') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    expect(refusalOf(() => h.admit({ to: '15550000002', body: text('x') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    h.engine.close();
  });

  it('a new inbound refreshes the window; a late, older webhook does not move it back', async () => {
    const h = await harness();
    h.inbound(USER);
    h.clock.advance(20 * 3600_000);
    h.inbound(USER);
    h.engine.onInbound({ phoneNumberId: '1001', from: USER, timestampMs: h.clock.nowMs() - 20 * 3600_000 });
    h.clock.advance(20 * 3600_000);
    expect(() => h.admit({ body: text('x') })).not.toThrow();
    h.engine.close();
  });

  it('templates are allowed outside the window; mark-as-read is never checked', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    expect(() => h.admit({ body: template('order_update', ['A-1']), category: 'utility' })).not.toThrow();
    expect(() => h.admit({ to: '', body: { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.x' } })).not.toThrow();
    h.engine.close();
  });

  it('defaults to off without Meta webhooks (no inbound could ever open a window), enforce with them', async () => {
    const off = await harness({ webhooks: false });
    expect(() => off.admit({ body: text('x') })).not.toThrow();
    off.engine.close();
    const explicit = await harness({ webhooks: false, policy: { serviceWindow: 'enforce' } });
    expect(refusalOf(() => explicit.admit({ body: text('x') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    explicit.engine.close();
    const offWithWebhooks = await harness({ policy: { serviceWindow: 'off' } });
    expect(() => offWithWebhooks.admit({ body: text('x') })).not.toThrow();
    offWithWebhooks.engine.close();
  });

  it('past its bound the in-memory map evicts the oldest windows and falls back to the durable copy', async () => {
    const h = await harness({ limits: { windowEntries: 2 } });
    for (let i = 0; i < 5; i++) h.inbound(`1555000010${i}`, 'hi');
    h.engine.flush();
    for (let i = 0; i < 5; i++) expect(() => h.admit({ to: `1555000010${i}`, body: text('reply') })).not.toThrow();
    expect(refusalOf(() => h.admit({ to: '15550000199', body: text('reply') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    h.clock.advance(24 * 3600_000);
    expect(refusalOf(() => h.admit({ to: '15550000100', body: text('reply') })).code).toBe('OUTSIDE_SERVICE_WINDOW');
    h.engine.close();
  });
});
