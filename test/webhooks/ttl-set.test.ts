import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { TtlSet } from '../../src/webhooks/meta/ttl-set.js';
import { verifyTenantSignature, signTenantBody } from '../../src/webhooks/tenant/signature.js';

describe('TtlSet', () => {
  it('forgets keys after the TTL and evicts the oldest at capacity', () => {
    const clock = new ManualClock(0);
    const set = new TtlSet(3, 1000, clock);
    set.add('a');
    clock.advance(10);
    set.add('b');
    set.add('c');
    set.add('d');
    expect(['a', 'b', 'c', 'd'].map((k) => set.has(k))).toEqual([false, true, true, true]);
    expect(set.size).toBe(3);
    clock.advance(1000);
    expect(set.has('b')).toBe(false);
    set.add('e');
    expect(set.size).toBe(1);
  });
});

describe('tenant signature', () => {
  it('verifies its own signature and refuses tampering, other secrets and stale timestamps', () => {
    const body = '{"recipient":"1555","n":1,"text":"olá"}';
    const header = signTenantBody('s3cret', 1_700_000_000, body, 'evt_1');
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifyTenantSignature('s3cret', header, body, 'evt_1', 1_700_000_100)).toBe(true);
    expect(verifyTenantSignature('s3cret', header, body, 'evt_2', 1_700_000_100)).toBe(false);
    expect(verifyTenantSignature('s3cret', header, body.replace('1555', '1556'), 'evt_1', 1_700_000_100)).toBe(false);
    expect(verifyTenantSignature('other', header, body, 'evt_1', 1_700_000_100)).toBe(false);
    expect(verifyTenantSignature('s3cret', header, body, 'evt_1', 1_700_000_400)).toBe(false);
    expect(verifyTenantSignature('s3cret', header.replace('t=1700000000', 't=1700000001'), body, 'evt_1', 1_700_000_100)).toBe(false);
    expect(verifyTenantSignature('s3cret', `${header},v2=abc`, body, 'evt_1', 1_700_000_100)).toBe(true);
  });
});
