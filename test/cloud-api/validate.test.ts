import { describe, expect, it } from 'vitest';
import { validateMessageBody } from '../../src/cloud-api/index.js';

const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: '+1 (650) 555-1234' };
const send = (type: string, content: unknown, extra: Record<string, unknown> = {}) => ({ ...base, type, [type]: content, ...extra });

describe('validateMessageBody: valid bodies of every type', () => {
  const valid: Array<[string, unknown]> = [
    ['text', send('text', { body: 'hi', preview_url: false })],
    ['text without type (Meta defaults to text)', { ...base, text: { body: 'hi' } }],
    ['template', send('template', {
      name: 'order_update', language: { code: 'en_US' },
      components: [
        { type: 'header', parameters: [{ type: 'image', image: { link: 'https://example.com/a.jpg' } }] },
        { type: 'body', parameters: [{ type: 'text', text: 'A-42' },
          { type: 'currency', currency: { fallback_value: '$100.99', code: 'USD', amount_1000: 100990 } },
          { type: 'date_time', date_time: { fallback_value: 'February 25, 1977' } }] },
        { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'X' }] },
      ],
    })],
    ['image by id', send('image', { id: '1234' })],
    ['image by link with caption', send('image', { link: 'https://example.com/a.jpg', caption: 'c' })],
    ['video', send('video', { id: 'v1' })],
    ['audio', send('audio', { link: 'https://example.com/a.ogg' })],
    ['document with filename', send('document', { id: 'd1', filename: 'a.pdf', caption: 'x' })],
    ['sticker', send('sticker', { id: 's1' })],
    ['interactive button', send('interactive', { type: 'button', body: { text: 'Pick' },
      action: { buttons: [{ type: 'reply', reply: { id: 'b1', title: 'Yes' } }, { type: 'reply', reply: { id: 'b2', title: 'No' } }] } })],
    ['interactive list', send('interactive', { type: 'list', header: { type: 'text', text: 'H' }, body: { text: 'B' },
      footer: { text: 'F' }, action: { button: 'Menu', sections: [{ title: 'S1', rows: [{ id: 'r1', title: 'T', description: 'D' }] }] } })],
    ['interactive cta_url', send('interactive', { type: 'cta_url', body: { text: 'Go' },
      action: { name: 'cta_url', parameters: { display_text: 'Open', url: 'https://example.com' } } })],
    ['interactive flow (shallow)', send('interactive', { type: 'flow', action: { name: 'flow', parameters: {} } })],
    ['location', send('location', { latitude: 37.48, longitude: '-122.14', name: 'HQ' })],
    ['contacts', { ...base, type: 'contacts', contacts: [{ name: { formatted_name: 'Ann' } }] }],
    ['reaction', send('reaction', { message_id: 'wamid.X', emoji: '👍' })],
    ['reaction removal (empty emoji)', send('reaction', { message_id: 'wamid.X', emoji: '' })],
    ['reply with context', send('text', { body: 'hi' }, { context: { message_id: 'wamid.Y' } })],
    ['mark as read', { messaging_product: 'whatsapp', status: 'read', message_id: 'wamid.Z', typing_indicator: { type: 'text' } }],
    // Never stricter than Meta: what sendgate does not read passes through for Meta to judge.
    ['message type sendgate does not know', send('hologram', { anything: 1 })],
    ['interactive kind sendgate does not know', send('interactive', { type: 'hologram', action: { name: 'x' } })],
    ['interactive order_details', send('interactive', { type: 'order_details', body: { text: 'Pay' }, action: { name: 'review_and_pay', parameters: {} } })],
    ['template component and parameter types sendgate does not know', send('template', { name: 'n', language: { code: 'en' },
      components: [{ type: 'sidebar', parameters: [{ type: 'hologram', hologram: {} }] }] })],
    ['template quick-reply text parameter as a boolean (Meta example)', send('template', { name: 'n', language: { code: 'en' },
      components: [{ type: 'button', sub_type: 'quick_reply', index: 0, parameters: [{ type: 'text', text: true }] }] })],
    ['interactive without type field (type inferred)', { ...base, interactive: { type: 'button', body: { text: 'Pick' },
      action: { buttons: [{ type: 'reply', reply: { id: 'b1', title: 'Yes' } }] } } }],
    ['group recipient', { messaging_product: 'whatsapp', recipient_type: 'group', to: 'GROUP_ID', type: 'text', text: { body: 'x' } }],
  ];
  for (const [name, body] of valid) {
    it(name, () => expect(validateMessageBody(body)).toBeNull());
  }
});

describe('validateMessageBody: refusals carry Meta codes', () => {
  const refused: Array<[string, unknown, number, RegExp?]> = [
    ['not an object', [1, 2], 100],
    ['null', null, 100],
    ['no messaging_product', { to: '16505551234', type: 'text', text: { body: 'x' } }, 100, /messaging_product/],
    ['wrong messaging_product', { ...send('text', { body: 'x' }), messaging_product: 'sms' }, 100],
    ['no to', { messaging_product: 'whatsapp', type: 'text', text: { body: 'x' } }, 100, /to is required/],
    ['bad to', send('text', { body: 'x' }, { to: 'abc' }), 100],
    ['short to', send('text', { body: 'x' }, { to: '12345' }), 100],
    ['bad recipient_type', send('text', { body: 'x' }, { recipient_type: 'broadcast' }), 100],
    ['type that is not a type name', send('Holo gram!', {}), 131051],
    ['missing type object', { ...base, type: 'text' }, 131008, /'text'/],
    ['empty text body', send('text', { body: '' }), 131008],
    ['text body too long', send('text', { body: 'x'.repeat(4097) }), 131009],
    ['preview_url not boolean', send('text', { body: 'x', preview_url: 'yes' }), 131009],
    ['media with neither id nor link', send('image', { caption: 'x' }), 131008],
    ['media with both', send('image', { id: '1', link: 'https://e.com/a' }), 131009],
    ['media link not http', send('image', { link: 'ftp://e.com/a' }), 131009],
    ['caption on audio', send('audio', { id: '1', caption: 'x' }), 131009],
    ['filename on image', send('image', { id: '1', filename: 'x' }), 131009],
    ['template without name', send('template', { language: { code: 'en' } }), 131008],
    ['template without language', send('template', { name: 'n' }), 131008],
    ['template button without index', send('template', { name: 'n', language: { code: 'en' }, components: [{ type: 'button', sub_type: 'url' }] }), 131009],
    ['template text param missing text', send('template', { name: 'n', language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'text' }] }] }), 131008],
    ['four buttons', send('interactive', { type: 'button', body: { text: 'x' }, action: { buttons: [1, 2, 3, 4].map((i) => ({ type: 'reply', reply: { id: `b${i}`, title: 't' } })) } }), 131009],
    ['duplicate button ids', send('interactive', { type: 'button', body: { text: 'x' }, action: { buttons: [1, 2].map(() => ({ type: 'reply', reply: { id: 'b', title: 't' } })) } }), 131009],
    ['button title too long', send('interactive', { type: 'button', body: { text: 'x' }, action: { buttons: [{ type: 'reply', reply: { id: 'b', title: 'x'.repeat(21) } }] } }), 131009],
    ['interactive without body', send('interactive', { type: 'button', action: { buttons: [] } }), 131008],
    ['list with 11 rows', send('interactive', { type: 'list', body: { text: 'x' }, action: { button: 'M', sections: [{ title: 'S', rows: Array.from({ length: 11 }, (_, i) => ({ id: `r${i}`, title: 't' })) }] } }), 131009],
    ['list sections untitled when several', send('interactive', { type: 'list', body: { text: 'x' }, action: { button: 'M', sections: [{ rows: [{ id: 'a', title: 't' }] }, { rows: [{ id: 'b', title: 't' }] }] } }), 131008],
    ['cta_url bad url', send('interactive', { type: 'cta_url', body: { text: 'x' }, action: { name: 'cta_url', parameters: { display_text: 'Go', url: 'javascript:alert(1)' } } }), 131009],
    ['unknown interactive kind with a non-object action', send('interactive', { type: 'hologram', action: 'x' }), 131009],
    ['latitude out of range', send('location', { latitude: 91, longitude: 0 }), 131009],
    ['location missing longitude', send('location', { latitude: 1 }), 131008],
    ['contacts empty', { ...base, type: 'contacts', contacts: [] }, 131009],
    ['contact without formatted_name', { ...base, type: 'contacts', contacts: [{ name: {} }] }, 131008],
    ['reaction without message_id', send('reaction', { emoji: 'x' }), 131008],
    ['mark read without message_id', { messaging_product: 'whatsapp', status: 'read' }, 100],
    ['status other than read', { messaging_product: 'whatsapp', status: 'delivered', message_id: 'x' }, 100],
    ['opaque data too long', send('text', { body: 'x' }, { biz_opaque_callback_data: 'x'.repeat(513) }), 131009],
  ];
  for (const [name, body, code, details] of refused) {
    it(name, () => {
      const p = validateMessageBody(body);
      expect(p?.code).toBe(code);
      if (details) expect(p?.details).toMatch(details);
    });
  }
});

describe('validateMessageBody: prototype pollution', () => {
  for (const key of ['__proto__', 'constructor', 'prototype']) {
    it(`rejects '${key}' at the top`, () => {
      const body = JSON.parse(`{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"body":"x"},"${key}":{"polluted":true}}`);
      expect(validateMessageBody(body)).toMatchObject({ code: 100 });
    });
    it(`rejects '${key}' deep inside an array`, () => {
      const body = JSON.parse(`{"messaging_product":"whatsapp","to":"16505551234","type":"template","template":{"name":"n","language":{"code":"en"},"components":[{"type":"body","parameters":[{"type":"text","text":"x","${key}":{"a":1}}]}]}}`);
      expect(validateMessageBody(body)).toMatchObject({ code: 100 });
    });
  }
  it('refuses a forbidden key before any other check, naming it, in every body form', () => {
    // Mark-as-read skips the per-type checks and an unknown type stops at its code: neither may let
    // a forbidden key through, and the refusal must name the key rather than some other problem.
    const forms = [
      '{"messaging_product":"whatsapp","status":"read","message_id":"wamid.x","__proto__":{"polluted":1}}',
      '{"messaging_product":"whatsapp","to":"16505551234","type":"hologram","hologram":{"constructor":{"prototype":{"polluted":1}}}}',
      '{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"body":"x"},"context":{"message_id":"m","prototype":1}}',
      '{"to":42,"__proto__":{"polluted":1}}',
    ];
    for (const json of forms) {
      const problem = validateMessageBody(JSON.parse(json));
      expect(problem?.code).toBe(100);
      expect(problem?.details).toMatch(/key '(__proto__|constructor|prototype)' is not allowed/);
    }
  });
  it('refuses absurd nesting', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 40; i++) deep = { a: deep };
    expect(validateMessageBody({ ...base, type: 'text', text: { body: 'x', deep } })).toMatchObject({ code: 100 });
  });
});
