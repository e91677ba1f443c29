import { describe, expect, it } from 'vitest';
import { harness, NUMBER2, recipient, refusalOf, TENANT, template, text } from './harness.js';

const tpl = template('order_update', ['A-1']);
const admitTo = (h: Awaited<ReturnType<typeof harness>>, i: number, phoneNumberId = '1001') =>
  h.admit({ to: recipient(i), phoneNumberId, body: tpl, category: 'utility' });

describe('policy messagingLimit', () => {
  it('the 251st unique recipient on a 250 limit is refused with 429 and a Retry-After; repeats to reached users are free', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    // Spread over both numbers: the limit is the tenant portfolio's.
    for (let i = 0; i < 250; i++) admitTo(h, i, i % 2 === 0 ? '1001' : NUMBER2);
    h.clock.advance(60_000);
    const refused = refusalOf(() => admitTo(h, 250));
    expect(refused).toMatchObject({ code: 'MESSAGING_LIMIT_REACHED', status: 429 });
    expect(refused.retryAfterSec).toBeGreaterThan(23 * 3600);
    expect(refused.retryAfterSec).toBeLessThanOrEqual(24 * 3600);
    expect(refused.details).toMatch(/^policy messagingLimit: .*250 unique recipients/);
    expect(() => admitTo(h, 7)).not.toThrow();
    // The slot frees when the first charge leaves the moving 24 h.
    h.clock.advance(24 * 3600_000);
    expect(() => admitTo(h, 250)).not.toThrow();
    h.engine.close();
  });

  it('a released admission (failed enqueue) and a failed send give their slot back; a refusal charged nothing', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    const admissions = Array.from({ length: 250 }, (_, i) => admitTo(h, i));
    expect(refusalOf(() => admitTo(h, 250)).code).toBe('MESSAGING_LIMIT_REACHED');
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(250);

    admissions[0]!.release();
    admissions[0]!.release(); // idempotent
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(249);
    expect(() => admitTo(h, 250)).not.toThrow();
    expect(refusalOf(() => admitTo(h, 251)).code).toBe('MESSAGING_LIMIT_REACHED');

    h.engine.onFinal({ tenantId: TENANT, to: recipient(1), state: 'failed' });
    expect(() => admitTo(h, 251)).not.toThrow();
    // Delivered or free-form messages give nothing back.
    h.engine.onFinal({ tenantId: TENANT, to: recipient(2), state: 'delivered' });
    h.engine.onFinal({ tenantId: TENANT, to: recipient(3), state: 'failed', template: false });
    expect(refusalOf(() => admitTo(h, 252)).code).toBe('MESSAGING_LIMIT_REACHED');
    h.engine.close();
  });

  it('a slot held by two messages frees only when both fail', async () => {
    const h = await harness({ policy: { optIn: 'off' }, tenant: { messagingLimit: 250 } });
    for (let i = 0; i < 249; i++) admitTo(h, i);
    admitTo(h, 500);
    admitTo(h, 500);
    h.engine.onFinal({ tenantId: TENANT, to: recipient(500), state: 'failed' });
    expect(refusalOf(() => admitTo(h, 600)).code).toBe('MESSAGING_LIMIT_REACHED');
    h.engine.onFinal({ tenantId: TENANT, to: recipient(500), state: 'expired' });
    expect(() => admitTo(h, 600)).not.toThrow();
    h.engine.close();
  });

  it('replies inside an open window and free-form messages are not counted', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    for (let i = 0; i < 250; i++) admitTo(h, i);
    h.inbound(recipient(900), 'hi');
    expect(() => h.admit({ to: recipient(900), body: tpl, category: 'utility' })).not.toThrow();
    expect(() => h.admit({ to: recipient(900), body: text('hello') })).not.toThrow();
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(250);
    h.engine.close();
  });

  it('live limit changes apply to the next decision; "unlimited" is not checked', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    for (let i = 0; i < 250; i++) admitTo(h, i);
    h.engine.setMessagingLimit(TENANT, 2000);
    expect(() => admitTo(h, 250)).not.toThrow();
    h.engine.setMessagingLimit(TENANT, 100);
    expect(refusalOf(() => admitTo(h, 251)).code).toBe('MESSAGING_LIMIT_REACHED');
    h.engine.setMessagingLimit(TENANT, 'unlimited');
    for (let i = 1000; i < 1100; i++) expect(() => admitTo(h, i)).not.toThrow();
    expect(() => h.engine.setMessagingLimit(TENANT, 0)).toThrow(RangeError);
    h.engine.close();
  });

  it('survives a restart: the last 24 h of charges are replayed into a fresh core, each marked reached', async () => {
    const first = await harness({ policy: { optIn: 'off' } });
    for (let i = 0; i < 250; i++) admitTo(first, i);
    first.engine.close(); // flushes the write-behind charges
    first.clock.advance(3600_000);
    const second = await harness({ policy: { optIn: 'off' }, dir: first.dir, clock: first.clock });
    expect(second.core.unique.count(TENANT, second.clock.nowMs())).toBe(250);
    expect(refusalOf(() => admitTo(second, 250)).code).toBe('MESSAGING_LIMIT_REACHED');
    expect(() => admitTo(second, 3)).not.toThrow();
    // Before the restart two messages to recipient 4 may have held its slot: one failing now does
    // not free it (the other may still be queued); it frees when the charge leaves the 24 h.
    second.engine.onFinal({ tenantId: TENANT, to: recipient(4), state: 'failed' });
    expect(refusalOf(() => admitTo(second, 250)).code).toBe('MESSAGING_LIMIT_REACHED');
    second.clock.advance(23 * 3600_000 + 60_000);
    expect(() => admitTo(second, 250)).not.toThrow();
    second.engine.close();
  });
});

describe('policy messagingLimit at departure', () => {
  it('a template admitted inside the service window and leaving after it closed is charged then, and refused when the tier is full', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    const depart = (i: number) => h.engine.departureRefusal({ phoneNumberId: '1001', to: recipient(i), marketing: false, nowMs: h.clock.nowMs() });
    // Recipient 0 wrote: inside the window the template is free.
    h.inbound(recipient(0));
    admitTo(h, 0);
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(0);
    expect(depart(0)).toBeNull();
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(0);
    // It is still queued when the window closes: leaving now starts a business-initiated conversation.
    h.clock.advance(25 * 3600_000);
    expect(depart(0)).toBeNull();
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(1);
    // Already counted: leaving again costs nothing more.
    expect(depart(0)).toBeNull();
    expect(h.core.unique.count(TENANT, h.clock.nowMs())).toBe(1);
    h.engine.close();
  });

  it('refuses at departure when the window closed and the tier filled meanwhile', async () => {
    const h = await harness({ policy: { optIn: 'off' } });
    h.inbound(recipient(300));
    admitTo(h, 300); // inside the window: free
    h.clock.advance(3600_000);
    for (let i = 0; i < 250; i++) admitTo(h, i); // the tier fills
    h.clock.advance(23.5 * 3600_000); // the window (24 h) has closed; the charges (23.5 h old) still count
    expect(h.engine.departureRefusal({ phoneNumberId: '1001', to: recipient(300), marketing: false, nowMs: h.clock.nowMs() })?.code)
      .toBe('MESSAGING_LIMIT_REACHED');
    h.engine.close();
  });
});
