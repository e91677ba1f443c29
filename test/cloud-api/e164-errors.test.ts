import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTemplate, messageCategory, metaError, toE164Digits } from '../../src/cloud-api/index.js';

describe('toE164Digits', () => {
  it.each([
    ['+1 (650) 555-1234', '16505551234'],
    ['16505551234', '16505551234'],
    ['+44 20 7946 0958', '442079460958'],
    ['+49-30-1234567', '49301234567'],
    ['1234567', '1234567'],
    ['123456789012345', '123456789012345'],
  ])('%s → %s', (input, digits) => expect(toE164Digits(input)).toBe(digits));

  it.each(['', '+', '123456', '1234567890123456', '0044 20 7946 0958', '+1 650 555 12x4', '1+6505551234', '++16505551234', '１６５０５５５１２３４'])(
    'rejects %j', (input) => expect(toE164Digits(input)).toBeNull());

  it('is idempotent and returns only 7..15 digits (property)', () => {
    fc.assert(fc.property(fc.string({ maxLength: 24 }), (s) => {
      const d = toE164Digits(s);
      if (d === null) return;
      expect(d).toMatch(/^[1-9][0-9]{6,14}$/);
      expect(toE164Digits(d)).toBe(d);
      expect(toE164Digits(`+${d}`)).toBe(d);
    }));
  });
});

describe('metaError', () => {
  it.each([
    [130429, 400, '(#130429) Rate limit hit'],
    [131056, 400, '(#131056) (Business Account, Consumer Account) pair rate limit hit'],
    [131048, 400, '(#131048) Spam rate limit hit'],
    [190, 401, '(#190) Invalid OAuth access token'],
    [368, 403, '(#368) Temporarily blocked for policies violations'],
    [131000, 500, '(#131000) Something went wrong'],
    [131016, 503, '(#131016) Service unavailable'],
    [131057, 500, '(#131057) Account in maintenance mode'],
    [132001, 404, '(#132001) Template does not exist'],
    [100, 400, '(#100) Invalid parameter'],
  ])('%i → HTTP %i, %s', (code, status, message) => {
    const { status: s, body } = metaError(code, 'because', 'TRACE');
    expect(s).toBe(status);
    expect(body).toEqual({
      error: { message, type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details: 'because' }, fbtrace_id: 'TRACE' },
    });
  });
  it('fills default details and a trace id', () => {
    const { body } = metaError(130429);
    expect(body.error.error_data.details).toBe('Cloud API message throughput has been reached.');
    expect(body.error.fbtrace_id).toMatch(/^[A-Za-z0-9_-]{23}$/);
  });
  it('answers 400 for a code it does not know', () => expect(metaError(999_999).status).toBe(400));
});

describe('categories', () => {
  it('free-form is service, templates unknown unless the body says', () => {
    expect(isTemplate({ type: 'text' })).toBe(false);
    expect(messageCategory({ type: 'text' })).toBe('service');
    expect(messageCategory({ type: 'image' })).toBe('service');
    expect(isTemplate({ type: 'template' })).toBe(true);
    expect(messageCategory({ type: 'template', template: { name: 'otp_login' } })).toBe('unknown');
    expect(messageCategory({ type: 'template', template: { name: 'x', category: 'MARKETING' } })).toBe('marketing');
    expect(messageCategory({ type: 'template', template: { name: 'x', category: 'authentication' } })).toBe('authentication');
    expect(messageCategory({ type: 'template', template: { name: 'x', category: 'bogus' } })).toBe('unknown');
  });
});
