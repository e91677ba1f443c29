import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { EmbeddedStore } from '../../src/store/embedded/embedded-store.js';
import type { NewMessage } from '../../src/store/types.js';
import { compileOptOutWords } from '../../src/webhooks/opt-out.js';
import { MetaEventConsumer, type InboundNotice, type TenantEventSink } from '../../src/webhooks/meta/consumer.js';
import { parseMetaWebhook } from '../../src/webhooks/meta/parse.js';
import { inboundPayload, statusPayload } from './fixtures.js';
import { waitFor } from './receiver.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

class RecordingSink implements TenantEventSink {
  readonly events: Array<{ tenantId: string; event: Record<string, unknown>; orderKey: string | undefined; eventId: string | undefined }> = [];
  async enqueue(tenantId: string, event: object, options?: { orderKey?: string; eventId?: string }): Promise<string> {
    this.events.push({ tenantId, event: event as Record<string, unknown>, orderKey: options?.orderKey, eventId: options?.eventId });
    return `evt_${this.events.length}`;
  }
}

const message = (id: string, to: string): NewMessage => ({
  id, tenantId: 'acme', phoneNumberId: '1001', to, toInput: `+${to}`, body: '{}', priority: 1,
  createdAtMs: 1_700_000_000_000, deadlineAtMs: 1_800_000_000_000, idempotencyKey: null, bodyHash: null,
});

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'sendgate-wh-consumer-'));
  const clock = new ManualClock();
  const store = new EmbeddedStore({ path: dir, clock });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => store.close());
  const sink = new RecordingSink();
  const notices: InboundNotice[] = [];
  const consumer = new MetaEventConsumer({
    records: store,
    owners: { number: (id) => (id === '1001' ? { tenant: { id: 'acme' } } : undefined) },
    sink,
    clock,
    hooks: { onInbound: (n) => void notices.push(n) },
    optOutWords: (tenantId) => compileOptOutWords(tenantId === 'acme' ? ['STOP', 'BAJA'] : []),
    unmatchedRetryMs: [20, 20],
  });
  cleanups.push(() => consumer.close());
  const sent = async (id: string, wamid: string, to: string) => {
    await store.enqueue(message(id, to));
    await store.transition(id, { state: 'sending', attempts: 1, atMs: clock.nowMs() });
    await store.transition(id, { state: 'sent', wamid, atMs: clock.nowMs() });
  };
  return { store, sink, notices, consumer, sent, clock };
}

describe('MetaEventConsumer', () => {
  it('moves records forward by status and tells the owning tenant, keyed by recipient', async () => {
    const { store, sink, consumer, sent } = await setup();
    await sent('m1', 'wamid.1', '15550001111');
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.1', status: 'delivered' }, { id: 'wamid.1', status: 'read' }])));
    const record = await store.get('acme', 'm1');
    expect(record?.state).toBe('read');
    expect(record?.readAtMs).toBe(1750030073000);
    expect(sink.events.map((e) => [e.tenantId, e.orderKey, e.event.type, e.event.id, e.event.status, e.event.recipient])).toEqual([
      ['acme', '15550001111', 'message.status', 'm1', 'delivered', '15550001111'],
      ['acme', '15550001111', 'message.status', 'm1', 'read', '15550001111'],
    ]);
    // A late `delivered` after `read` keeps `read` but is still forwarded.
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.1', status: 'delivered' }])));
    expect((await store.get('acme', 'm1'))?.state).toBe('read');
    expect(sink.events).toHaveLength(3);
  });

  it('records an asynchronous failure after sent, with Meta\'s error and what to do about it', async () => {
    const { store, consumer, sent } = await setup();
    await sent('m47', 'wamid.47', '15550004747');
    const errors = [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } }];
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.47', status: 'failed', errors }])));
    const record = await store.get('acme', 'm47');
    expect(record?.state).toBe('failed');
    expect(record?.lastError?.code).toBe(131047);
    expect(record?.lastError?.details).toMatch(/more than 24 hours have passed.*send an approved template instead/);
  });

  it('tells the status hook once per failure that applied, not for a redelivered one', async () => {
    const { store, sent } = await setup();
    const seen: string[] = [];
    const consumer = new MetaEventConsumer({
      records: store, owners: { number: () => ({ tenant: { id: 'acme' } }) }, sink: new RecordingSink(), clock: new ManualClock(),
      hooks: { onStatus: (record, event) => void seen.push(`${record.id}:${event.status}`) },
    });
    cleanups.push(() => consumer.close());
    await sent('mf', 'wamid.f', '15550009999');
    const failed = statusPayload([{ id: 'wamid.f', status: 'failed', errors: [{ code: 131026, title: 'Message undeliverable' }] }]);
    await consumer.onEvents(parseMetaWebhook(failed));
    await consumer.onEvents(parseMetaWebhook(failed));
    expect(seen).toEqual(['mf:failed']);
  });

  it('awaits every write it started when a later step fails: the batch rejects, nothing is left unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      let lookups = 0;
      const consumer = new MetaEventConsumer({
        records: {
          findByWamid: async (wamid) => {
            if (++lookups > 1) throw new Error('store gone');
            return { ...message('m1', '15550001111'), state: 'sent', attempts: 1, notBeforeMs: 0, wamid, lastError: null, updatedAtMs: 0, sentAtMs: 0, deliveredAtMs: null, readAtMs: null };
          },
          transition: () => new Promise((_, reject) => setTimeout(() => reject(new Error('commit failed')), 20)),
        },
        owners: { number: () => ({ tenant: { id: 'acme' } }) }, sink: new RecordingSink(), clock: new ManualClock(),
      });
      cleanups.push(() => consumer.close());
      await expect(consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.a', status: 'delivered' }, { id: 'wamid.b', status: 'read' }]))))
        .rejects.toThrow(/store gone|commit failed/);
      await new Promise((r) => setTimeout(r, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('parks a status that overtook the sent record, and applies it once the wamid is known', async () => {
    const { store, sink, consumer, sent, clock } = await setup();
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.late', status: 'delivered' }, { id: 'wamid.never', status: 'read' }])));
    expect(sink.events).toHaveLength(0);
    expect(consumer.stats().parked).toBe(2);
    await sent('m2', 'wamid.late', '15550002222');
    // Look-ups are due by the consumer's clock: move it along while waiting.
    await waitFor(() => {
      clock.advance(20);
      return consumer.stats().parked === 0;
    }, 2000);
    expect(consumer.stats()).toMatchObject({ lateMatched: 1, unmatched: 1, statuses: 1 });
    expect((await store.get('acme', 'm2'))?.state).toBe('delivered');
    expect(sink.events.map((e) => e.event.wamid)).toEqual(['wamid.late']);
  });

  it('applies statuses that overtook the record before a later one of the same message, keeping Meta\'s order', async () => {
    const { store, sink, consumer, sent } = await setup();
    // The consumer's clock stands still here: no scheduled look-up runs, only the match on arrival.
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.early', status: 'sent' }])));
    expect(consumer.stats().parked).toBe(1);
    await sent('m3', 'wamid.early', '15550003333');
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.early', status: 'delivered' }])));
    expect(sink.events.map((e) => e.event.status)).toEqual(['sent', 'delivered']);
    expect(consumer.stats()).toMatchObject({ parked: 0, lateMatched: 1 });
    expect((await store.get('acme', 'm3'))?.state).toBe('delivered');
  });

  it('reports inbound messages to the policy hook with opt-out detection, and to the tenant', async () => {
    const { sink, notices, consumer } = await setup();
    await consumer.onEvents(parseMetaWebhook(inboundPayload([{ id: 'wamid.i1', body: 'Baja.' }, { id: 'wamid.i2', body: 'Hola, quiero info' }])));
    await consumer.onEvents(parseMetaWebhook(inboundPayload([{ id: 'wamid.i3', body: 'STOP' }], '9999')));
    expect(notices.map((n) => [n.tenantId, n.from, n.optOut, n.atMs])).toEqual([
      ['acme', '16505551234', true, 1749416383000],
      ['acme', '16505551234', false, 1749416383000],
    ]);
    expect(sink.events.map((e) => [e.orderKey, e.event.type, e.event.messageId, e.event.optOut, e.event.text])).toEqual([
      ['16505551234', 'message.inbound', 'wamid.i1', true, 'Baja.'],
      ['16505551234', 'message.inbound', 'wamid.i2', false, 'Hola, quiero info'],
    ]);
    expect(consumer.stats()).toMatchObject({ inbound: 2, optOuts: 1, unknownNumber: 1 });
  });

  it('derives tenant event ids from the Meta event, so a later copy is recognisable', async () => {
    const { sink, consumer, sent } = await setup();
    await sent('m4', 'wamid.4', '15550004444');
    const batch = statusPayload([{ id: 'wamid.4', status: 'delivered' }, { id: 'wamid.4', status: 'read' }]);
    await consumer.onEvents(parseMetaWebhook(batch));
    await consumer.onEvents(parseMetaWebhook(batch));
    await consumer.onEvents(parseMetaWebhook(inboundPayload([{ id: 'wamid.i9', body: 'x' }])));
    await consumer.onEvents(parseMetaWebhook(inboundPayload([{ id: 'wamid.i9', body: 'x' }])));
    const ids = sink.events.map((e) => e.eventId);
    expect(ids).toHaveLength(6);
    expect(ids[2]).toBe(ids[0]);
    expect(ids[3]).toBe(ids[1]);
    expect(ids[5]).toBe(ids[4]);
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^evt_[A-Za-z0-9_-]{22}$/);
  });

  it('fails (so Meta retries) when a tenant webhook cannot be stored', async () => {
    const { sent, store } = await setup();
    await sent('m3', 'wamid.3', '15550003333');
    const consumer = new MetaEventConsumer({
      records: store,
      owners: { number: () => undefined },
      sink: { enqueue: async () => { throw new Error('disk full'); } },
      clock: new ManualClock(),
    });
    await expect(consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.3', status: 'delivered' }])))).rejects.toThrow('disk full');
  });
});

describe('MetaEventConsumer for a tenant taking Meta\'s format', () => {
  class MetaSink extends RecordingSink {
    readonly formats: Array<string | undefined> = [];
    override async enqueue(tenantId: string, event: object, options?: { orderKey?: string; eventId?: string; format?: 'sendgate' | 'meta' }): Promise<string> {
      this.formats.push(options?.format);
      return super.enqueue(tenantId, event, options);
    }
    formatOf(tenantId: string): 'meta' | 'sendgate' | undefined {
      return tenantId === 'acme' ? 'meta' : undefined;
    }
  }

  async function metaSetup() {
    const { store, sent, clock } = await setup();
    const sink = new MetaSink();
    const consumer = new MetaEventConsumer({
      records: store,
      owners: {
        number: (id) => (id === '1001' ? { tenant: { id: 'acme' } } : undefined),
        accountTenant: (signal) => (signal.wabaId === 'WABA1' ? { id: 'acme' } : undefined),
      },
      sink, clock, unmatchedRetryMs: [20, 20],
      wamidAnswers: { answeredWamid: async (_tenant, id) => id === 'm-waited' },
    });
    cleanups.push(() => consumer.close());
    return { store, sink, consumer, sent, clock };
  }

  it('relays statuses as Meta\'s items under the id the send answered, parked ones too, other fields untouched', async () => {
    const { sink, consumer, sent, clock } = await metaSetup();
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.early', status: 'sent' }])));
    expect(sink.events).toHaveLength(0);
    await sent('m-early', 'wamid.early', '16505551234');
    await waitFor(() => {
      clock.advance(20);
      return consumer.stats().parked === 0;
    }, 2000);
    await sent('m-waited', 'wamid.waited', '16505551234');
    await consumer.onEvents(parseMetaWebhook(statusPayload([{ id: 'wamid.waited', status: 'delivered' }])));
    expect(sink.formats).toEqual(['meta', 'meta']);
    const [early, waited] = sink.events.map((e) => e.event as any);
    expect(early).toEqual({
      object: 'whatsapp_business_account',
      entry: [{ id: 'WABA1', changes: [{ field: 'messages', value: {
        messaging_product: 'whatsapp',
        metadata: { display_phone_number: '15550001001', phone_number_id: '1001' },
        statuses: [{
          id: 'm-early', gateway_id: 'm-early', wamid: 'wamid.early', status: 'sent', timestamp: '1750030073', recipient_id: '16505551234',
          pricing: { billable: true, pricing_model: 'PMP', type: 'regular', category: 'marketing' },
        }],
      } }] }],
    });
    // Answered with the wamid (Prefer: wait): the wamid stays the id.
    expect(waited.entry[0].changes[0].value.statuses[0]).toMatchObject({ id: 'wamid.waited', gateway_id: 'm-waited', wamid: 'wamid.waited' });
    expect(sink.events.map((e) => e.orderKey)).toEqual(['16505551234', '16505551234']);
  });

  it('relays a status of a message sent around sendgate as Meta sent it, once the look-ups gave up', async () => {
    const { sink, consumer, clock } = await metaSetup();
    const payload = statusPayload([{ id: 'wamid.direct', status: 'delivered' }]) as any;
    await consumer.onEvents(parseMetaWebhook(payload));
    expect(sink.events).toHaveLength(0);
    await waitFor(() => {
      clock.advance(20);
      return consumer.stats().parked === 0;
    }, 2000);
    expect(consumer.stats().unmatched).toBe(1);
    expect(sink.events.map((e) => [e.orderKey, e.event])).toEqual([['16505551234', payload]]);
  });

  it('rewrites a reply\'s context and a reaction\'s message_id to the id its tenant knows, only for its own messages', async () => {
    const { sink, consumer, sent } = await metaSetup();
    await sent('m-asked', 'wamid.asked', '16505551234');
    const reply = (id: string, context: string) => {
      const json = inboundPayload([{ id, body: 'sí 👍' }]) as any;
      json.entry[0].changes[0].value.messages[0].context = { from: '15550001001', id: context };
      return parseMetaWebhook(json);
    };
    const reaction = (id: string, to: string) => {
      const json = inboundPayload([{ id, body: '' }]) as any;
      json.entry[0].changes[0].value.messages[0] = { from: '16505551234', id, timestamp: '1749416390', type: 'reaction', reaction: { message_id: to, emoji: '❤️' } };
      return parseMetaWebhook(json);
    };
    await consumer.onEvents([...reply('wamid.r1', 'wamid.asked'), ...reply('wamid.r2', 'wamid.elsewhere'), ...reaction('wamid.r3', 'wamid.asked')]);
    const messages = sink.events.map((e) => (e.event as any).entry[0].changes[0].value.messages[0]);
    expect(messages.slice(0, 2).map((m) => m.context)).toEqual([
      { from: '15550001001', id: 'm-asked', gateway_id: 'm-asked', wamid: 'wamid.asked' },
      { from: '15550001001', id: 'wamid.elsewhere' },
    ]);
    // A reaction names the message it reacts to the same way.
    expect(messages[2].reaction).toEqual({ message_id: 'm-asked', gateway_id: 'm-asked', wamid: 'wamid.asked', emoji: '❤️' });
    expect((sink.events[0]!.event as any).entry[0].changes[0].value.contacts).toEqual([{ profile: { name: 'Zoë' }, wa_id: '16505551234' }]);
  });

  it('relays other changes to the tenant they name, and to no one when none does', async () => {
    const { sink, consumer } = await metaSetup();
    const change = (wabaId: string) => ({ object: 'whatsapp_business_account', entry: [{ id: wabaId, changes: [{ field: 'account_alerts', value: { entity_type: 'WABA', alert_info: { alert_type: 'X' } } }] }] });
    await consumer.onEvents([...parseMetaWebhook(change('WABA1')), ...parseMetaWebhook(change('WABA-unknown'))]);
    expect(sink.events.map((e) => [e.tenantId, e.event])).toEqual([['acme', change('WABA1')]]);
    expect(consumer.stats().passedThrough).toBe(1);
    // The same change again (Meta's redelivery) gets the same event id: the outbox stores it once.
    await consumer.onEvents(parseMetaWebhook(change('WABA1')));
    expect(sink.events[1]!.eventId).toBe(sink.events[0]!.eventId);
  });
});
