import { describe, expect, it } from 'vitest';
import { waIdOf } from '../../src/cloud-api/index.js';
import { RecipientAliases } from '../../src/gateway/recipient-aliases.js';

describe('RecipientAliases', () => {
  it('resolves a learned input to its wa_id, and anything else to itself', () => {
    const a = new RecipientAliases();
    a.learn('525512345678', '5215512345678');
    expect(a.resolve('525512345678')).toBe('5215512345678');
    expect(a.resolve('16505551234')).toBe('16505551234');
  });
  it('keeps only aliases that differ and are digits', () => {
    const a = new RecipientAliases();
    a.learn('16505551234', '16505551234');
    a.learn('16505551235', 'US.abc');
    a.learn('', '5215512345678');
    expect(a.size).toBe(0);
  });
  it('is bounded: the least recently learned or used alias goes first', () => {
    const a = new RecipientAliases(3);
    for (let i = 0; i < 3; i++) a.learn(`52551234560${i}`, `521551234560${i}`);
    expect(a.resolve('525512345600')).toBe('5215512345600'); // used: now the most recent
    a.learn('525512345609', '5215512345609');
    expect(a.size).toBe(3);
    expect(a.resolve('525512345601')).toBe('525512345601'); // evicted
    expect(a.resolve('525512345600')).toBe('5215512345600');
  });
});

describe('waIdOf (the simulator\'s model of WhatsApp ids)', () => {
  it.each([
    ['525512345678', '5215512345678'], // Mexico: 52 → 521
    ['5215512345678', '5215512345678'],
    ['5511987654321', '551187654321'], // Brazil: the mobile ninth digit dropped
    ['551187654321', '551187654321'],
    ['16505551234', '16505551234'],
  ])('%s → %s', (input, waId) => expect(waIdOf(input)).toBe(waId));
});
