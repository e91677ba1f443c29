/**
 * normalise() and link extraction on hostile text: the same answers as their regex definitions, in
 * time proportional to the text. Quadratic passes made 4 KiB of "a.a.a…" cost ~12 ms and 64 KiB ~3 s.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { maskEmails, maskUrls } from '../../src/core/link-masks.js';
import { normalise } from '../../src/core/normalise.js';
import { LinkAllowlist, linkHosts } from '../../src/policy/links.js';

const URL_RE = /(?:https?:\/\/|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,}\/\S*/gu;
const EMAIL_RE = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.[\p{L}]{2,}/gu;

/** Texts made of what the two patterns look at, so matches, near-misses and overlaps are frequent. */
const linkish = fc
  .array(fc.constantFrom('a', 'b', 'z', '1', '-', '_', '.', '..', '/', '@', ' ', '\n', ':', '%', '+', 'www.', 'http://', 'https://', '.com', '.io/', 'é', 'Ａ', '𝐀', '\u{20000}', '٣', '\u0301', '\ud800', 'A', 'x@y.zz'), { maxLength: 40 })
  .map((parts) => parts.join(''));

describe('link masks answer as their patterns do', () => {
  it('URLs', () => {
    fc.assert(fc.property(linkish, (s) => {
      expect(maskUrls(s)).toBe(s.replace(URL_RE, '<url>'));
    }), { numRuns: 5000 });
  });
  it('e-mail addresses', () => {
    fc.assert(fc.property(linkish, (s) => {
      expect(maskEmails(s)).toBe(s.replace(EMAIL_RE, '<email>'));
    }), { numRuns: 5000 });
  });
  it('known cases', () => {
    for (const s of ['a.b.com/x', 'x.www.foo bar', '-a.com/ b', 'a..b.com/', '.a.com/', 'a.b.c1/', 'a.bc/d http://e f', 'www. ', 'http://']) {
      expect(maskUrls(s)).toBe(s.replace(URL_RE, '<url>'));
    }
    for (const s of ['a@b.cc.d@e.ff', 'x@a.b', 'x@.ab', 'x@a.ab.c', 'a@b@c.de', '@a.bc', 'é@ü.çà', 'a@𝐀.bb']) {
      expect(maskEmails(s)).toBe(s.replace(EMAIL_RE, '<email>'));
    }
  });
});

/** Least time of `rounds` runs of `work` (ms): the minimum drops scheduling noise. */
function leastMs(work: () => void, rounds: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    work();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

/**
 * Time for one input 16× the size, over time for 16 inputs of the small size: ~1 when linear,
 * ~16 when quadratic. The bound 2.5 is "< 40× the time for 16× the size".
 */
function growth(f: (s: string) => unknown, make: (chars: number) => string, smallChars: number): number {
  const small = make(smallChars);
  const large = make(smallChars * 16);
  f(small);
  f(large);
  const smallMs = leastMs(() => {
    for (let i = 0; i < 16; i++) f(small);
  }, 5);
  const largeMs = leastMs(() => f(large), 5);
  return largeMs / Math.max(smallMs, 0.05);
}

const HOSTILE: Record<string, (chars: number) => string> = {
  'dotted labels, no slash after them': (n) => `/ ${'a.'.repeat(n / 2)}`,
  'dashed labels': (n) => `/ ${'a-'.repeat(n / 2)}`,
  'a long word, no @ after it': (n) => `@ ${'a'.repeat(n)}`,
  'a domain without a top-level label': (n) => `x@${'a'.repeat(n)}`,
  'a dotted domain of one-letter labels': (n) => `a@${'a.'.repeat(n / 2)}`,
  'many @': (n) => 'a@b '.repeat(n / 4),
  'greetings on every line': (n) => 'hi ana\n'.repeat(n / 7),
};

describe('hostile text takes time proportional to its length', () => {
  for (const [name, make] of Object.entries(HOSTILE)) {
    it(`normalise: ${name} (64 KiB vs 4 KiB)`, () => {
      expect(growth(normalise, make, 4096)).toBeLessThan(2.5);
    });
  }

  it('link extraction: dotted hosts, scheme and www links (64 KiB vs 4 KiB)', () => {
    for (const make of [(n: number) => ` ${'a.'.repeat(n / 2)}com`, (n: number) => `https://${'a.'.repeat(n / 2)}com`, (n: number) => 'www.'.repeat(n / 4)]) {
      expect(growth(linkHosts, make, 4096)).toBeLessThan(2.5);
    }
  });

  // V8 hashes strings of up to 16 383 characters in full and longer ones by their length only, so a
  // walk that hashes every suffix of a host shows its quadratic cost below that size: 1 KiB vs 16 KiB.
  it('the allowlist check of a host with thousands of labels (16 KiB vs 1 KiB)', () => {
    // A fresh allowlist per call: it remembers its answers by host.
    const check = (s: string) => new LinkAllowlist(['shop.example']).firstRefused({ template: false, texts: [s], urls: [], templateName: '' });
    expect(growth(check, (n) => `see ${'a.'.repeat(n / 2 - 4)}com`, 1024)).toBeLessThan(2.5);
  });
});
