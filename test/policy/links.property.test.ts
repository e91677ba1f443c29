/**
 * The link scan's shortcuts (no NFKC for ASCII, scans skipped without their prefix, the host
 * cache) change its cost, not its answers: same hosts, same order, as the plain definition.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LINK_TLDS, linkHosts } from '../../src/policy/links.js';
import { referenceLinkHosts } from './links-reference.js';

/** Pieces that make links, near-links and the traps the rules name (e-mails, ports, userinfo, full-width, IDN). */
const PIECES = [
  'http://', 'https://', 'HTTPS://', 'hxxp://', '://', 'www.', 'WWW.', 'wwww.', '.', '..', '/', '@', ':', ':8443', '?', '#', ' ', '\n', ',', '!', ')', '"',
  'shop', 'example', 'com', 'org', 'io', 'txt', 'evil', 'good', 'a', 'b-c', '-', '0', '42', '127.0.0.1', 'xn--', 'xn--bcher-kva', 'bücher', 'ｅｖｉｌ',
  '．', 'ｃｏｍ', '／', '\u2024', 'Mr', 'Smith', 'ÉCOLE', 'ß', 'İ', '😀', 'mail', 'x'.repeat(70),
];
const textArb = fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 4 }), fc.string({ unit: 'binary', maxLength: 2 })), { maxLength: 24 }).map((xs) => xs.join(''));

describe('linkHosts', () => {
  it('answers as the plain three-scan definition, for texts built from link pieces', () => {
    fc.assert(fc.property(textArb, (text) => {
      expect([...linkHosts(text)]).toEqual(referenceLinkHosts(text, LINK_TLDS));
    }), { numRuns: 3000 });
  });

  it('answers as the plain definition for the examples the rules name', () => {
    const examples = [
      'See https://good.com@evil.com/x', 'ｅｖｉｌ．ｃｏｍ', 'visit www.Shop.Example:80/x and m.shop.example/deals', 'Mr.Smith sent file.txt',
      'mail a@evil.com', 'http://localhost:8080', 'https://bücher.example/', 'x.y.com.', 'no link at all', 'HTTPS://Good.Example:8443/x',
      'http://@', 'https://:99/', 'www.', 'a.b/', 'evil.com/path and again evil.com', 'call 42.com/x', '7.io', 'a-.b.com',
    ];
    for (const text of examples) expect([...linkHosts(text)], text).toEqual(referenceLinkHosts(text, LINK_TLDS));
  });

  it('a host seen before answers the same from the cache', () => {
    expect(linkHosts('https://BÜCHER.example/a')).toEqual(['xn--bcher-kva.example']);
    expect(linkHosts('and again https://bücher.example/b')).toEqual(['xn--bcher-kva.example']);
  });
});
