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

describe('X-Sendgate-Deadline', () => {
  const NOW = Date.parse('2030-01-01T00:00:00Z');
  const deadlineOf = (deadline: string) =>
    buildMessage(tenant, '1001', body, { idempotencyKey: undefined, deadline, category: undefined }, NOW).message.deadlineAtMs;
  const refused = (deadline: string) => {
    expect(() => deadlineOf(deadline), deadline).toThrow(expect.objectContaining({ code: 'INVALID_HEADER' }));
  };

  it('takes seconds of validity', () => {
    expect(deadlineOf('90')).toBe(NOW + 90_000);
    expect(deadlineOf(' 3600 ')).toBe(NOW + 3_600_000);
  });

  it.each([
    ['2030-01-01T01:00:00Z', '2030-01-01T01:00:00.000Z'],
    ['2030-01-01T01:00:00.250Z', '2030-01-01T01:00:00.250Z'],
    ['2030-01-01T01:00:00.123456Z', '2030-01-01T01:00:00.123Z'],
    ['2030-01-01T03:30:00+02:00', '2030-01-01T01:30:00.000Z'],
    ['2029-12-31T20:00:00-05:00', '2030-01-01T01:00:00.000Z'],
    ['2030-01-01t01:00:00z', '2030-01-01T01:00:00.000Z'], // RFC 3339 §5.6: T and Z may be lower case
    ['2030-01-31T00:00:00Z', '2030-01-31T00:00:00.000Z'], // 30 days ahead: the longest allowed
  ])('takes the RFC 3339 instant %s', (header, instant) => {
    expect(new Date(deadlineOf(header)).toISOString()).toBe(instant);
  });

  it('refuses what is not an RFC 3339 instant rather than guess one', () => {
    refused('2030-01-01T01:00:00'); // no zone: Date.parse would read the server's local time
    refused('2030-01-01T01:00Z'); // no seconds
    refused('2030-01-01 01:00:00Z'); // space instead of T
    refused('2030-01-01');
    refused('2030-01-01T24:00:00Z');
    refused('2030-01-01T01:00:00+0200');
    refused('2030-01-01T01:00:00+24:00');
    refused('Tue, 01 Jan 2030 01:00:00 GMT');
    refused('1e3');
    refused('-5');
  });

  it('refuses a day the month does not have (Date.parse would roll it into the next month)', () => {
    const FEB_20 = Date.parse('2030-02-20T00:00:00Z');
    const at = (deadline: string) => () => buildMessage(tenant, '1001', body, { idempotencyKey: undefined, deadline, category: undefined }, FEB_20);
    expect(at('2030-02-28T00:00:00Z')().message.deadlineAtMs).toBe(Date.parse('2030-02-28T00:00:00Z'));
    for (const impossible of ['2030-02-29T00:00:00Z', '2030-02-30T00:00:00Z', '2030-02-31T00:00:00Z', '2030-02-00T00:00:00Z']) {
      expect(at(impossible), impossible).toThrow(expect.objectContaining({ code: 'INVALID_HEADER' }));
    }
    // 2032 is a leap year.
    const FEB_20_2032 = Date.parse('2032-02-20T00:00:00Z');
    expect(buildMessage(tenant, '1001', body, { idempotencyKey: undefined, deadline: '2032-02-29T12:00:00Z', category: undefined }, FEB_20_2032).message.deadlineAtMs)
      .toBe(Date.parse('2032-02-29T12:00:00Z'));
  });

  it('refuses an instant in the past, now, or more than 30 days ahead', () => {
    refused('2029-12-31T23:59:59Z');
    refused('2030-01-01T00:00:00Z');
    refused('2030-01-31T00:00:00.001Z');
    refused('0');
    refused(String(30 * 86_400 + 1));
  });
});
