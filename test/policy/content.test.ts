import { describe, expect, it } from 'vitest';
import { linkHosts } from '../../src/policy/links.js';
import { harness, recipient, refusalOf, template, text } from './harness.js';

const NAMES = ['Ana', 'Bob', 'Carla', 'Dmitri', 'Eve', 'Fatima', 'Gus', 'Hana', 'Ivo', 'Jun', 'Kofi', 'Lea'];

describe('policy repeat', () => {
  const policy = { optIn: 'off', serviceWindow: 'off', repeat: { maxRecipients: 10, windowSec: 3600 } };

  it('30 identical texts to 30 users with maxRecipients 10: 10 admitted, 20 refused', async () => {
    const h = await harness({ policy });
    let admitted = 0;
    const codes = new Set<string>();
    for (let i = 0; i < 30; i++) {
      try {
        h.admit({ to: recipient(i), body: text('Big sale today only! Reply YES to order.') });
        admitted++;
      } catch (err) {
        codes.add((err as { code: string }).code);
      }
    }
    expect(admitted).toBe(10);
    expect([...codes]).toEqual(['REPEATED_CONTENT']);
    // The same user again is not a new recipient.
    expect(() => h.admit({ to: recipient(3), body: text('Big sale today only! Reply YES to order.') })).not.toThrow();
    const refused = refusalOf(() => h.admit({ to: recipient(99), body: text('Big sale today only! Reply YES to order.') }));
    expect(refused).toMatchObject({ status: 422 });
    expect(refused.details).toMatch(/^policy repeat: .*10 distinct recipients within 3600 s/);
    expect(refused.retryAfterSec).toBeGreaterThan(0);
    h.engine.close();
  });

  it('a version with only names (and numbers, links) changed is still caught', async () => {
    const h = await harness({ policy });
    for (let i = 0; i < 10; i++) {
      h.admit({ to: recipient(i), body: text(`Hi ${NAMES[i]}, your ${10 + i}% coupon is at https://x.example/c/${i}`) });
    }
    expect(refusalOf(() => h.admit({ to: recipient(10), body: text('Hi Lea, your 99% coupon is at https://x.example/c/zz') })).code)
      .toBe('REPEATED_CONTENT');
    expect(() => h.admit({ to: recipient(10), body: text('A different message entirely') })).not.toThrow();
    h.engine.close();
  });

  it('the window frees slots; templates: no-parameter ones are exempt, identical parameters count, distinct codes do not', async () => {
    const h = await harness({ policy });
    for (let i = 0; i < 10; i++) h.admit({ to: recipient(i), body: text('same words') });
    const refused = refusalOf(() => h.admit({ to: recipient(10), body: text('same words') }));
    expect(refused.code).toBe('REPEATED_CONTENT');
    // Retrying after the announced wait is admitted.
    h.clock.advance(refused.retryAfterSec! * 1000);
    expect(() => h.admit({ to: recipient(10), body: text('same words') })).not.toThrow();

    for (let i = 0; i < 30; i++) h.admit({ to: recipient(100 + i), body: template('welcome'), category: 'utility' });
    for (let i = 0; i < 30; i++) h.admit({ to: recipient(200 + i), body: template('otp', [String(100_000 + i)]), category: 'authentication' });
    for (let i = 0; i < 10; i++) h.admit({ to: recipient(300 + i), body: template('promo', ['SPRING SALE 50% OFF']), category: 'marketing' });
    expect(refusalOf(() => h.admit({ to: recipient(310), body: template('promo', ['SPRING SALE 50% OFF']), category: 'marketing' })).code)
      .toBe('REPEATED_CONTENT');
    h.engine.close();
  });

  it('a repeat refusal gives back the tier slot it had charged', async () => {
    const h = await harness({ policy: { ...policy, repeat: { maxRecipients: 1, windowSec: 60 } } });
    h.admit({ to: recipient(0), body: template('promo', ['same']), category: 'marketing' });
    expect(refusalOf(() => h.admit({ to: recipient(1), body: template('promo', ['same']), category: 'marketing' })).code).toBe('REPEATED_CONTENT');
    expect(h.core.unique.count('acme', h.clock.nowMs())).toBe(1);
    h.engine.close();
  });
});

describe('policy links', () => {
  const policy = { optIn: 'off', serviceWindow: 'off', links: { allowedDomains: ['shop.example', 'example.org'] } };

  it('admits links to allowed domains and their subdomains, refuses others (text, captions, template params, cta_url)', async () => {
    const h = await harness({ policy });
    for (const body of [
      'See https://shop.example/p/1', 'See https://www.shop.example/p/1', 'm.shop.example/deals', 'Visit example.org', 'no link at all, Mr.Smith',
    ]) expect(() => h.admit({ body: text(body) }), body).not.toThrow();

    const cases: Array<[string, Record<string, unknown>]> = [
      ['text', text('Claim at https://evil.example/win')],
      ['userinfo trick', text('https://shop.example@evil.example/x')],
      ['lookalike suffix', text('https://shop.example.evil.example/')],
      ['not a subdomain', text('https://badshop.example/')],
      ['bare domain', text('go to bit.ly/abc')],
      ['www', text('www.evil.example')],
      ['full-width', text('ｅｖｉｌ．ｃｏｍ')],
      ['caption', { type: 'image', image: { id: '1', caption: 'https://evil.example' } }],
      ['template param', template('promo', ['https://evil.example/x'])],
      ['cta_url', { type: 'interactive', interactive: { type: 'cta_url', body: { text: 'Tap' }, action: { name: 'cta_url', parameters: { display_text: 'Go', url: 'https://evil.example' } } } }],
    ];
    for (const [name, body] of cases) {
      const refused = refusalOf(() => h.admit({ body, category: body['type'] === 'template' ? 'marketing' : 'service' }));
      expect(refused.code, name).toBe('LINK_NOT_ALLOWED');
      expect(refused.details, name).toMatch(/^policy links: the message links to /);
    }
    h.engine.close();
  });

  it('leaves no holes: every IANA TLD, contact cards, interactive kinds, carousel cards, coupon codes, bodies without type', async () => {
    const h = await harness({ policy });
    for (const body of ['Mr.Smith sent file.txt', 'version 1.2.3 is out', 'shop.example/deals.zip']) {
      expect(() => h.admit({ body: text(body) }), body).not.toThrow();
    }
    const carousel = {
      type: 'template',
      template: {
        name: 'cards', language: { code: 'en_US' },
        components: [{ type: 'carousel', cards: [{ card_index: 0, components: [{ type: 'body', parameters: [{ type: 'text', text: 'see https://evil.example/c' }] }] }] }],
      },
    };
    const cases: Array<[string, Record<string, unknown>]> = [
      ['rare TLD (.support)', text('sign in at secure-login.support')],
      ['.zip TLD', text('open invoice.zip now')],
      ['contact card URL', { type: 'contacts', contacts: [{ name: { formatted_name: 'Help desk' }, urls: [{ url: 'https://evil.example/help', type: 'WORK' }] }] }],
      ['list row description', { type: 'interactive', interactive: { type: 'list', body: { text: 'Pick' }, action: { button: 'Menu', sections: [{ rows: [{ id: 'r', title: 'T', description: 'evil.example/r' }] }] } } }],
      ['flow body (kind passed through)', { type: 'interactive', interactive: { type: 'flow', body: { text: 'Start at https://evil.example' }, action: { name: 'flow', parameters: { flow_cta: 'Go' } } } }],
      ['order_details body (kind passed through)', { type: 'interactive', interactive: { type: 'order_details', body: { text: 'Pay at evil.example/pay' }, action: { name: 'review_and_pay', parameters: {} } } }],
      ['carousel card parameter', carousel],
      ['coupon code', template('promo', [], [{ type: 'button', sub_type: 'copy_code', index: 0, parameters: [{ type: 'coupon_code', coupon_code: 'evil.example/c' }] }])],
      ['no type field (interactive inferred)', { interactive: { type: 'button', body: { text: 'www.evil.example' }, action: { buttons: [{ type: 'reply', reply: { id: 'a', title: 'ok' } }] } } }],
    ];
    for (const [name, body] of cases) {
      const refused = refusalOf(() => h.admit({ body, category: body['type'] === 'template' ? 'marketing' : 'service' }));
      expect(refused.code, name).toBe('LINK_NOT_ALLOWED');
    }
    h.engine.close();
  });

  it('extracts hosts, not e-mail domains', () => {
    expect(linkHosts('mail me at a@evil.com or see HTTPS://Good.Example:8443/x')).toEqual(['good.example']);
  });
});
