import { describe, expect, it } from 'vitest';
import { parseLimit, parseMetaWebhook, type IgnoredCounts } from '../../src/webhooks/meta/parse.js';
import { inboundPayload, statusPayload } from './fixtures.js';

function envelope(field: string, value: object, wabaId = 'WABA9') {
  return { object: 'whatsapp_business_account', entry: [{ id: wabaId, changes: [{ field, value }] }] };
}

describe('parseMetaWebhook', () => {
  it('parses statuses with errors and opaque data, in batch order', () => {
    const json = statusPayload([
      { id: 'wamid.1', status: 'sent', recipient: '447700900001' },
      { id: 'wamid.2', status: 'failed', errors: [{ code: 131049, title: 'Not delivered to maintain ecosystem health', error_data: { details: 'capped' } }] },
    ]) as { entry: Array<{ changes: Array<{ value: { statuses: Array<Record<string, unknown>> } }> }> };
    json.entry[0]!.changes[0]!.value.statuses[0]!.biz_opaque_callback_data = 'campaign-7';
    const parsed = parseMetaWebhook(json);
    // Each status keeps Meta's own object and its place in the envelope (for tenants taking Meta's format).
    const value = json.entry[0]!.changes[0]!.value as unknown as { statuses: unknown[]; metadata: unknown };
    expect(parsed.map((e) => e.kind === 'status' && e.raw)).toEqual(value.statuses);
    expect(parsed.map((e) => e.kind === 'status' && e.source)).toEqual([0, 1].map(() => ({ wabaId: expect.any(String), metadata: value.metadata })));
    const events = parsed.map((e) => ({ ...e, raw: undefined, source: undefined }));
    expect(events).toEqual([
      { kind: 'status', phoneNumberId: '1001', wamid: 'wamid.1', status: 'sent', recipient: '447700900001', timestampMs: 1750030073000, bizOpaque: 'campaign-7', displayPhoneNumber: '15550001001' },
      {
        kind: 'status', phoneNumberId: '1001', wamid: 'wamid.2', status: 'failed', recipient: '16505551234', timestampMs: 1750030073000, displayPhoneNumber: '15550001001',
        errors: [{ code: 131049, title: 'Not delivered to maintain ecosystem health', details: 'capped' }],
      },
    ]);
  });

  it('parses inbound messages and finds their words by type', () => {
    const value = {
      messaging_product: 'whatsapp',
      metadata: { phone_number_id: '2002' },
      messages: [
        { from: '34600000001', id: 'wamid.t', timestamp: '1749416383', type: 'text', text: { body: 'BAJA' } },
        { from: '34600000001', id: 'wamid.b', timestamp: '1749416384', type: 'button', button: { payload: 'STOP_PROMO', text: 'Stop promotions' } },
        { from: '34600000001', id: 'wamid.i', timestamp: '1749416385', type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'x', title: 'Option 2' } } },
        { from: '34600000001', id: 'wamid.m', timestamp: '1749416386', type: 'image', image: { id: 'media1', mime_type: 'image/jpeg', caption: 'look' } },
        { from_user_id: 'US.1234', id: 'wamid.u', timestamp: '1749416387', type: 'reaction', reaction: { emoji: '👍', message_id: 'wamid.x' } },
      ],
    };
    const events = parseMetaWebhook(envelope('messages', value));
    expect(events.map((e) => e.kind === 'inbound' && [e.phoneNumberId, e.from, e.messageId, e.type, e.text, e.timestampMs])).toEqual([
      ['2002', '34600000001', 'wamid.t', 'text', 'BAJA', 1749416383000],
      ['2002', '34600000001', 'wamid.b', 'button', 'Stop promotions', 1749416384000],
      ['2002', '34600000001', 'wamid.i', 'interactive', 'Option 2', 1749416385000],
      ['2002', '34600000001', 'wamid.m', 'image', 'look', 1749416386000],
      ['2002', 'US.1234', 'wamid.u', 'reaction', undefined, 1749416387000],
    ]);
    expect(events[0]!.kind === 'inbound' && events[0]!.raw).toEqual(value.messages[0]);
  });

  it('parses quality and capability updates with normalised limits', () => {
    const events = [
      ...parseMetaWebhook(envelope('phone_number_quality_update', { display_phone_number: '15550001001', event: 'UPGRADE', current_limit: 'TIER_10K', max_daily_conversations_per_business: '10K' })),
      ...parseMetaWebhook(envelope('business_capability_update', { max_daily_conversations_per_business: 'UNLIMITED', max_phone_numbers_per_business: 20 })),
      ...parseMetaWebhook(envelope('phone_number_quality_update', { display_phone_number: '15550001001', event: 'THROUGHPUT_UPGRADE' })),
    ];
    // Each change is also relayed as it came to tenants taking Meta's format.
    expect(events.filter((e) => e.kind === 'passthrough').map((e) => e.kind === 'passthrough' && [e.field, e.displayPhoneNumber])).toEqual([
      ['phone_number_quality_update', '15550001001'], ['business_capability_update', null], ['phone_number_quality_update', '15550001001'],
    ]);
    expect(events.filter((e) => e.kind !== 'passthrough')).toEqual([
      { kind: 'quality', phoneNumberId: null, displayPhoneNumber: '15550001001', wabaId: 'WABA9', event: 'UPGRADE', currentLimit: 10_000, maxDailyConversations: 10_000 },
      { kind: 'capability', phoneNumberId: null, wabaId: 'WABA9', maxDailyConversationsPerBusiness: 'unlimited', maxPhoneNumbersPerBusiness: 20 },
      { kind: 'quality', phoneNumberId: null, displayPhoneNumber: '15550001001', wabaId: 'WABA9', event: 'THROUGHPUT_UPGRADE' },
    ]);
  });

  it('skips what it does not handle and counts it, keeping the rest', () => {
    const ignored: IgnoredCounts = new Map();
    const json = {
      object: 'whatsapp_business_account',
      entry: [
        { id: 'W', changes: [
          { field: 'message_template_status_update', value: { event: 'APPROVED' } },
          { field: 'messages', value: { metadata: { phone_number_id: '1' }, errors: [{ code: 131000 }], statuses: [{ id: 'wamid.p', status: 'played', timestamp: '1' }, { id: 'wamid.ok', status: 'read', timestamp: '1', future_field: { x: 1 } }] } },
          { field: 'messages', value: { statuses: [] } },
          'garbage',
        ] },
        { id: 'no-changes' },
      ],
    };
    const events = parseMetaWebhook(json, ignored);
    expect(events.filter((e) => e.kind !== 'passthrough').map((e) => e.kind === 'status' && e.wamid)).toEqual(['wamid.ok']);
    // What the gateway does not act on still reaches tenants taking Meta's format, untouched.
    expect(events.filter((e) => e.kind === 'passthrough')).toEqual([
      { kind: 'passthrough', wabaId: 'W', field: 'message_template_status_update', value: { event: 'APPROVED' }, phoneNumberId: null, displayPhoneNumber: null },
      {
        kind: 'passthrough', wabaId: 'W', field: 'messages', phoneNumberId: '1', displayPhoneNumber: null,
        value: { messaging_product: 'whatsapp', metadata: { phone_number_id: '1' }, errors: [{ code: 131000 }] },
      },
    ]);
    const ok = events.find((e) => e.kind === 'status');
    expect(ok?.kind === 'status' && ok.raw).toEqual({ id: 'wamid.ok', status: 'read', timestamp: '1', future_field: { x: 1 } });
    expect(Object.fromEntries(ignored)).toEqual({ 'field:message_template_status_update': 1, 'key:errors': 1, 'status:played': 1, 'bad:metadata': 1, 'bad:change': 1, 'bad:entry': 1 });
    expect(parseMetaWebhook(null, ignored)).toEqual([]);
    expect(parseMetaWebhook({ entry: 'x' }, ignored)).toEqual([]);
    expect(ignored.get('bad:envelope')).toBe(2);
  });

  it('parses the inbound fixture used by the route tests', () => {
    expect(parseMetaWebhook(inboundPayload([{ id: 'wamid.f', body: 'hola' }]))).toMatchObject([{ kind: 'inbound', messageId: 'wamid.f', text: 'hola' }]);
  });
});

describe('parseLimit', () => {
  it.each([
    ['TIER_250', 250], ['TIER_1K', 1000], ['TIER_2K', 2000], ['10K', 10_000], ['TIER_100K', 100_000], ['TIER_UNLIMITED', 'unlimited'],
    ['UNLIMITED', 'unlimited'], [2000, 2000], ['1.5K', 1500], ['tier_1k', 1000], ['TIER_X', undefined], [null, undefined], [-1, 'unlimited'], ['-1', 'unlimited'], [-2, undefined],
  ])('%s → %s', (raw, expected) => {
    expect(parseLimit(raw)).toBe(expected);
  });
});
