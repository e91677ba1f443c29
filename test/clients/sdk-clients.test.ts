/**
 * Existing Cloud API SDKs work against sendgate by changing only where they send:
 * whatsapp-api-js through a fetch that rewrites the Graph host, @great-detail/whatsapp through
 * `baseUrl` (its unversioned-path quirk included).
 */
import Client from '@great-detail/whatsapp';
import { WhatsAppAPI } from 'whatsapp-api-js';
import { BodyComponent, BodyParameter, Language, Template, Text } from 'whatsapp-api-js/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, NUMBER, eventually, startStack, type Stack } from '../support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

async function expectDelivered(id: string): Promise<void> {
  const record = await eventually(async () => {
    const r = await stack.gateway.store.get('acme', id);
    return r !== null && r.wamid !== null ? r : undefined;
  });
  expect(record.wamid).toMatch(/^wamid\./);
}

describe('whatsapp-api-js', () => {
  const api = () => new WhatsAppAPI({
    token: API_KEY,
    v: 'v23.0',
    secure: false,
    ponyfill: { fetch: (url, init) => fetch(String(url).replace('https://graph.facebook.com', stack.gateway.url), init) },
  });

  it('sends a text message', async () => {
    const answer = (await api().sendMessage(NUMBER, '16505550101', new Text('hello from whatsapp-api-js'))) as any;
    expect(answer.messages[0].id).toMatch(/^sg_/);
    expect(answer.contacts[0].wa_id).toBe('16505550101');
    await expectDelivered(answer.messages[0].id);
  });

  it('sends a template message', async () => {
    const template = new Template('order_update', new Language('en_US'), new BodyComponent(new BodyParameter('A-42')));
    const answer = (await api().sendMessage(NUMBER, '16505550102', template)) as any;
    expect(answer.messages[0].id).toMatch(/^sg_/);
    await expectDelivered(answer.messages[0].id);
  });

  it('gets the Graph error envelope back (it ignores HTTP status)', async () => {
    const bad = new WhatsAppAPI({ token: 'wrong-key-123', v: 'v23.0', secure: false, ponyfill: { fetch: (url, init) => fetch(String(url).replace('https://graph.facebook.com', stack.gateway.url), init) } });
    const answer = (await bad.sendMessage(NUMBER, '16505550103', new Text('x'))) as any;
    expect(answer.error.code).toBe(190);
  });
});

describe('@great-detail/whatsapp', () => {
  it('sends text and template messages through baseUrl (unversioned path)', async () => {
    const sdk = new Client({ baseUrl: stack.gateway.url, request: { headers: { Authorization: `Bearer ${API_KEY}` } } } as any);
    const text = await (await sdk.message.createMessage({ phoneNumberID: NUMBER, to: '16505550104', type: 'text', text: { body: 'hello from great-detail' } } as any)).json() as any;
    expect(text.messages[0].id).toMatch(/^sg_/);
    const template = await (await sdk.message.createMessage({
      phoneNumberID: NUMBER, to: '16505550105', type: 'template',
      template: { name: 'order_update', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'A-42' }] }] },
    } as any)).json() as any;
    expect(template.messages[0].id).toMatch(/^sg_/);
    await expectDelivered(text.messages[0].id);
    await expectDelivered(template.messages[0].id);
  });

  it('also works with the versioned path', async () => {
    const sdk = new Client({ baseUrl: stack.gateway.url, graphVersion: 'v23.0/', request: { headers: { Authorization: `Bearer ${API_KEY}` } } } as any);
    const text = await (await sdk.message.createMessage({ phoneNumberID: NUMBER, to: '16505550106', type: 'text', text: { body: 'versioned' } } as any)).json() as any;
    expect(text.messages[0].id).toMatch(/^sg_/);
  });
});
