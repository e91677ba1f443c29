import { describe, expect, it } from 'vitest';
import { DEFAULT_WARMUP, warmupCaps } from '../../src/policy/index.js';
import { harness, NUMBER, recipient, refusalOf, T0, TENANT, template, text } from './harness.js';

const DAY = 86_400_000;

describe('warmupCaps (pure, for the dispatcher too)', () => {
  const created = new Date(T0).toISOString();
  it('steps down the schedule as the number ages, then no caps', () => {
    expect(warmupCaps({ createdAt: created }, T0)).toEqual({ windowMs: 15_000, limit: 50 });
    expect(warmupCaps({ createdAt: created }, T0 + DAY - 1)).toEqual({ windowMs: 15_000, limit: 50 });
    expect(warmupCaps({ createdAt: created }, T0 + DAY)).toEqual({ windowMs: 15_000, limit: 150 });
    expect(warmupCaps({ createdAt: created }, T0 + 3 * DAY)).toEqual({ windowMs: 15_000, limit: 400 });
    expect(warmupCaps({ createdAt: created }, T0 + 7 * DAY)).toBeNull();
  });
  it('warmup: true counts from the first send; neither flag = established; warmup: false wins', () => {
    expect(warmupCaps({ warmup: true }, T0 + 2 * DAY, { firstSendMs: T0 })).toEqual({ windowMs: 15_000, limit: 150 });
    expect(warmupCaps({ warmup: true }, T0)).toEqual({ windowMs: 15_000, limit: 50 });
    expect(warmupCaps({}, T0)).toBeNull();
    expect(warmupCaps({ warmup: false, createdAt: created }, T0)).toBeNull();
    expect(warmupCaps({ createdAt: created }, T0, { schedule: { windowSec: 60, steps: [{ untilDays: 2, limit: 5 }] } }))
      .toEqual({ windowMs: 60_000, limit: 5 });
    expect(DEFAULT_WARMUP.steps[0]).toEqual({ untilDays: 1, limit: 50 });
  });
});

describe('warm-up at admission', () => {
  it('refuses nothing (the dispatcher delays); the engine gives the caps that apply', async () => {
    const h = await harness({
      policy: { optIn: 'off', serviceWindow: 'off' },
      numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-1', createdAt: new Date(T0 - 3600_000).toISOString() }],
    });
    for (let i = 0; i < 120; i++) expect(() => h.admit({ to: recipient(i), body: text(`message ${i}`) })).not.toThrow();
    expect(h.engine.warmupCapsOf(NUMBER, h.clock.nowMs())).toEqual({ windowMs: 15_000, limit: 50 });
    expect(h.engine.stats().refused).toEqual({});
    h.engine.close();
  });

  it('warmup: true ages from the first admitted send', async () => {
    const h = await harness({
      policy: { optIn: 'off', serviceWindow: 'off' },
      numbers: [{ phoneNumberId: NUMBER, accessToken: 'EAAG-1', warmup: true }],
    });
    h.admit({ to: recipient(0), body: text('first') });
    h.clock.advance(DAY + 1000);
    expect(h.engine.warmupCapsOf(NUMBER, h.clock.nowMs())).toEqual({ windowMs: 15_000, limit: 150 });
    h.engine.close();
  });
});

describe('shadow mode', () => {
  it('evaluates and counts refusals per policy without refusing; opt-outs are still honoured', async () => {
    const h = await harness({
      policy: { mode: 'shadow', optIn: 'enforce', repeat: { maxRecipients: 2, windowSec: 60 }, links: { allowedDomains: ['shop.example'] } },
    });
    expect(() => h.admit({ body: text('outside the window') })).not.toThrow();
    expect(() => h.admit({ body: template('t', ['x']), category: 'utility' })).not.toThrow();
    for (let i = 0; i < 5; i++) h.admit({ to: recipient(i), body: template('promo', ['same']), category: 'marketing' });
    expect(() => h.admit({ body: text('see https://evil.example') })).not.toThrow();
    h.inbound(recipient(9), 'STOP');
    expect(refusalOf(() => h.admit({ to: recipient(9), body: template('promo', ['x']), category: 'marketing' })).code).toBe('RECIPIENT_OPTED_OUT');
    expect(h.engine.stats()).toEqual({
      shadow: { [TENANT]: { serviceWindow: 2, optIn: 6, repeat: 3, links: 1 } },
      refused: { [TENANT]: { optOut: 1 } },
      warned: {},
    });
    h.engine.close();
  });

  it('enforce mode counts its refusals too', async () => {
    const h = await harness();
    refusalOf(() => h.admit({ body: text('x') }));
    expect(h.engine.stats().refused).toEqual({ [TENANT]: { serviceWindow: 1 } });
    h.engine.close();
  });
});
