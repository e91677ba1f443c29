import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { buildMessage } from '../../src/gateway/send-request.js';

const config = parseConfig({ tenants: [{ id: 'acme', apiKeys: ['key-acme-1234'], numbers: [{ phoneNumberId: '1001', accessToken: 't' }, { phoneNumberId: '1002', accessToken: 't' }] }] });
const tenant = config.tenants[0]!;
const body = { messaging_product: 'whatsapp', to: '+1 650 555 1234', type: 'text', text: { body: 'hi' } };
const headers = (key?: string) => ({ idempotencyKey: key, deadline: undefined, category: undefined });

describe('buildMessage', () => {
  it('normalises the recipient and sends what it counts', () => {
    const { message } = buildMessage(tenant, '1001', body, headers(), 1_000);
    expect(message.to).toBe('16505551234');
    expect(message.toInput).toBe('+1 650 555 1234');
    expect(JSON.parse(message.body).to).toBe('+16505551234');
    expect(message.deadlineAtMs).toBe(1_000 + 14_400_000);
  });

  it('hashes the number with the body: one idempotency key reused on another number is a conflict, not a duplicate', () => {
    const a = buildMessage(tenant, '1001', body, headers('k'), 1_000).message.bodyHash;
    const again = buildMessage(tenant, '1001', body, headers('k'), 2_000).message.bodyHash;
    const other = buildMessage(tenant, '1002', body, headers('k'), 1_000).message.bodyHash;
    expect(again).toBe(a);
    expect(other).not.toBe(a);
    expect(buildMessage(tenant, '1001', body, headers(), 1_000).message.bodyHash).toBeNull();
  });
});

describe('X-Sendgate-Category → priority', () => {
  const template = { messaging_product: 'whatsapp', to: '+16505551234', type: 'template', template: { name: 'n', language: { code: 'en' } } };
  const build = (category: string | undefined, b: object = template) =>
    buildMessage(tenant, '1001', b, { idempotencyKey: undefined, deadline: undefined, category }, 1_000);

  it.each([
    ['authentication', 0], ['utility', 0], ['service', 0], ['marketing', 1],
    [' Utility ', 0], ['MARKETING', 1],
  ])('header %j → priority %i', (header, priority) => {
    expect(build(header).message.priority).toBe(priority);
  });

  it('without the header: a template is of unknown category and goes with marketing; free-form is a service reply', () => {
    expect(build(undefined)).toMatchObject({ category: 'unknown', message: { priority: 1 } });
    expect(build(undefined, body)).toMatchObject({ category: 'service', message: { priority: 0 } });
    // The header wins over the body's type.
    expect(build('marketing', body)).toMatchObject({ category: 'marketing', message: { priority: 1 } });
  });
});
