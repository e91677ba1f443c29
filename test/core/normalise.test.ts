import { describe, expect, it } from 'vitest';
import { normalise } from '../../src/core/normalise.js';
import { createReferenceCore } from '../../src/core/reference.js';

describe('normalise', () => {
  it('folds case (NFKC first) and collapses whitespace', () => {
    expect(normalise('  Your   ORDER\n\tis ＲＥＡＤＹ  ')).toBe('your order is ready');
  });

  it('masks digit runs in any script', () => {
    expect(normalise('code 123-456, total ٣٤ EUR')).toBe('code #-#, total # eur');
  });

  it('masks URLs before digits and e-mail addresses', () => {
    expect(normalise('Track https://t.example.com/a/12?x=9 or www.shop.io/p/7 now')).toBe('track <url> or <url> now');
    expect(normalise('see shop.example.com/orders/55 today')).toBe('see <url> today');
    expect(normalise('write to ana.p+1@mail.example.org')).toBe('write to <email>');
  });

  it('masks up to three words after a greeting when punctuation ends them', () => {
    expect(normalise('Hi Ana, code 123')).toBe('hi <name>, code #');
    expect(normalise('Hola Ana Paula Souza! tu código')).toBe('hola <name>! tu código');
    expect(normalise('Good morning Mr. Smith: ready')).toBe('good morning <name>: ready');
    expect(normalise('Olá João')).toBe('olá <name>');
  });

  it('masks only the first word after a greeting without punctuation', () => {
    expect(normalise('Hi Ana your code is 1')).toBe('hi <name> your code is #');
  });

  it('masks greetings at the start of any line, not in the middle of text', () => {
    expect(normalise('Order ready\nDear Bo,\nthanks')).toBe('order ready dear <name>, thanks');
    expect(normalise('we say hi Ana, here')).toBe('we say hi ana, here');
  });

  it('makes personalised bulk texts share one fingerprint', () => {
    const core = createReferenceCore();
    const a = core.fingerprintOf('Hi Ana, code 123');
    expect(core.fingerprintOf('Hi Bo, code 456')).toBe(a);
    expect(core.fingerprintOf('hi   BO,   code 9')).toBe(a);
    expect(core.fingerprintOf('Hi Bo, code 456 today')).not.toBe(a);
    expect(a).toMatch(/^[0-9a-f]{16}$/);
  });
});
